import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["parts"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["parts"]["broker"] == {"ok": True, "detail": "redis"}


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client):
    # Nothing listens on port 1: a refused connection, as when Redis is stopped.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["broker"]
    assert body["parts"]["broker"]["ok"] is False
    assert body["parts"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_needs_no_sign_in_and_is_not_cached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
