"""Session cookies: HttpOnly, SameSite=Lax, and an idle expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
IDLE = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def sign_in(client) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_the_session_cookie_is_http_only_and_same_site_lax(client, demo):
    sign_in(client)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


def test_a_session_left_idle_expires(client, demo):
    with time_machine.travel(NOW, tick=False):
        sign_in(client)
    used = NOW + IDLE - dt.timedelta(seconds=1)
    with time_machine.travel(used, tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(used + IDLE - dt.timedelta(seconds=1), tick=False):
        # Used then: still signed in almost a whole idle period later.
        assert client.get("/").status_code == 200
    last = used + IDLE - dt.timedelta(seconds=1)
    with time_machine.travel(last + IDLE, tick=False):
        assert client.get("/").status_code == 302


def test_polling_is_not_use(client, demo):
    with time_machine.travel(NOW, tick=False):
        sign_in(client)
    with time_machine.travel(NOW + IDLE / 2, tick=False):
        assert client.get("/", HTTP_HX_REQUEST="true").status_code == 200
    with time_machine.travel(NOW + IDLE + dt.timedelta(seconds=1), tick=False):
        assert client.get("/").status_code == 302


def test_requests_within_a_minute_write_the_session_once(client, demo):
    with time_machine.travel(NOW, tick=False):
        sign_in(client)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        client.get("/")  # pushes the expiry back
    with time_machine.travel(NOW + dt.timedelta(minutes=5, seconds=30), tick=False):
        from django.contrib.sessions.models import Session

        before = Session.objects.get().expire_date
        client.get("/")
        assert Session.objects.get().expire_date == before


def test_the_idle_period_comes_from_the_environment(tmp_path):
    from tests.config.test_settings_module import run_django

    script = "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"
    result = run_django(
        ["shell", "-c", script],
        DEBUG="1",
        WEDGE_VAR_DIR=str(tmp_path),
        WEDGE_SESSION_IDLE_SECONDS="900",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "900"


@pytest.mark.parametrize("password", ["wedge", "password123", "12345678901", "qwertyuiop"])
def test_weak_passwords_are_refused(demo, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=demo["alice"])


def test_the_demo_password_passes_the_validators(demo):
    validate_password(DEMO_PASSWORD, user=demo["alice"])
