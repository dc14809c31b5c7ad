import logging

import pytest
from django.test import override_settings

# Nothing listens on port 1: a refused connection, as when Redis is stopped.
BROKER_DOWN = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "down": [],
        "degraded": [],
        "parts": {"database": {"ok": True}, "broker": {"ok": True}},
    }


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client):
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
