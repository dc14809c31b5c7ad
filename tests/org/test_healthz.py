import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from org import health

# Nothing listens on port 1: a refused connection, as when Redis is stopped.
BROKER_DOWN = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_reports_every_part(client, workers_alive):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "down": [],
        "degraded": [],
        "parts": {
            "database": {"ok": True},
            "broker": {"ok": True},
            "engine": {"ok": True},
            "webhooks": {"ok": True},
        },
    }


@pytest.mark.django_db
def test_workers_never_seen_leave_the_instance_in_rotation(client):
    """A cluster part down is ``degraded`` (200): every web instance would say the same."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["down"] == []
    assert response.json()["degraded"] == ["engine", "webhooks"]


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
@override_settings(WEDGE_TICK_SECONDS=5.0, WEDGE_OUTBOX_REDRIVE_SECONDS=15.0)
@pytest.mark.parametrize(
    ("age", "engine_ok"),
    [
        (timedelta(seconds=75), True),  # exactly 3 ticks and a minute: still up
        (timedelta(seconds=76), False),  # a second later: down
    ],
)
def test_the_engine_is_down_three_ticks_and_a_minute_after_its_last_tick(
    client, demo, age, engine_ok
):
    health.beat(health.ENGINE, now=T0)
    health.beat(health.WEBHOOKS, now=T0)
    client.force_login(demo["admin"])
    with time_machine.travel(T0 + age, tick=False):
        response = client.get("/healthz")
    parts = response.json()["parts"]
    assert parts["engine"]["ok"] is engine_ok
    assert parts["webhooks"]["ok"] is True  # its allowance is 3 x 15 s + 60 s
    assert "last beat tick" in parts["engine"]["detail"]
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_registered_part_is_reported_and_its_failure_contained(client, workers_alive):
    def metric_provider_prometheus() -> health.PartStatus:
        raise ConnectionError("prometheus.internal:9090 refused")

    health.register_check(metric_provider_prometheus)
    try:
        response = client.get("/healthz")
    finally:
        health._CHECKS.remove(metric_provider_prometheus)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["down"] == []
    assert body["degraded"] == ["metric_provider_prometheus"]
    assert "prometheus.internal" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client, workers_alive):
    with override_settings(CELERY_BROKER_URL=BROKER_DOWN):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["broker"]
    assert body["parts"]["broker"] == {"ok": False}
    assert body["parts"]["database"] == {"ok": True}


@pytest.mark.django_db
@pytest.mark.parametrize("username", [None, "alice", "dave"])
def test_the_public_answer_has_no_error_text(client, demo, caplog, username):
    if username:
        client.force_login(demo[username])
    with override_settings(CELERY_BROKER_URL=BROKER_DOWN), caplog.at_level(logging.WARNING):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "detail" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()
    # What went wrong is in the log, for whoever runs the service.
    assert any("broker" in r.getMessage() and "Error" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_signed_in_staff_see_the_details(client, demo):
    client.force_login(demo["admin"])
    with override_settings(CELERY_BROKER_URL=BROKER_DOWN):
        response = client.get("/healthz")
    parts = response.json()["parts"]
    assert parts["database"] == {"ok": True, "detail": "postgresql"}
    assert parts["broker"]["ok"] is False
    assert "Error" in parts["broker"]["detail"]


@pytest.mark.django_db
def test_healthz_needs_no_sign_in_and_is_not_cached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_periodic_tasks_write_the_heartbeats(client):
    from webhooks.tasks import redrive
    from wedges.tasks import tick

    assert client.get("/healthz").json()["degraded"] == ["engine", "webhooks"]
    tick()
    assert client.get("/healthz").json()["degraded"] == ["webhooks"]
    redrive()
    assert client.get("/healthz").json() == {
        "status": "ok",
        "down": [],
        "degraded": [],
        "parts": {p: {"ok": True} for p in ("database", "broker", "engine", "webhooks")},
    }
