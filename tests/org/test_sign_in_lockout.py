"""Repeated wrong passwords lock sign-in, per user name and per address (django-axes)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from audit.models import AuditEvent
from org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def locked(response) -> bool:
    return response.status_code == 429 and b"Sign-in is locked for 15 minutes" in response.content


def test_twelve_wrong_passwords_then_the_right_one_is_still_refused(client, demo):
    with time_machine.travel(NOW, tick=False):
        answers = [sign_in(client, "bob", f"guess-{n}") for n in range(12)]
        assert [a.status_code for a in answers[:4]] == [200] * 4
        assert all(locked(a) for a in answers[4:])
        right = sign_in(client, "bob", DEMO_PASSWORD)
        assert locked(right)
        assert "_auth_user_id" not in client.session
    # Every failure is WDG-301; the lock itself is one WDG-305.
    assert AuditEvent.objects.filter(code="WDG-301").count() == 13
    lockout = AuditEvent.objects.get(code="WDG-305")
    assert lockout.actor_label == "anonymous"
    assert lockout.data == {
        "username": "bob",
        "path": LOGIN,
        "remote_addr": "127.0.0.1",
        "failures": 5,
    }


def test_the_lock_is_per_user_name_whatever_the_address(client, demo):
    with time_machine.travel(NOW, tick=False):
        for n in range(5):
            sign_in(client, "bob", "wrong", address=f"10.0.0.{n}")
        assert locked(sign_in(Client(), "bob", DEMO_PASSWORD, address="10.1.1.1"))
        # Other users are not locked out by bob's failures.
        assert sign_in(Client(), "alice", DEMO_PASSWORD, address="10.1.1.1").status_code == 302


def test_the_lock_is_per_address_whatever_the_user_name(client, demo):
    with time_machine.travel(NOW, tick=False):
        for name in ("alice", "bob", "carol", "dave", "mallory"):
            sign_in(client, name, "wrong", address="10.6.6.6")
        assert locked(sign_in(Client(), "erin", DEMO_PASSWORD, address="10.6.6.6"))
        assert sign_in(Client(), "erin", DEMO_PASSWORD, address="10.7.7.7").status_code == 302


def test_the_lock_lasts_fifteen_minutes_and_is_not_extended_by_attempts(client, demo):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            sign_in(client, "bob", "wrong")
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        assert locked(sign_in(client, "bob", "wrong-again"))
    with time_machine.travel(NOW + dt.timedelta(minutes=15) - dt.timedelta(seconds=1), tick=False):
        assert locked(sign_in(Client(), "bob", DEMO_PASSWORD))
    with time_machine.travel(NOW + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert sign_in(Client(), "bob", DEMO_PASSWORD).status_code == 302


def test_four_failures_then_success_resets_the_count(client, demo):
    with time_machine.travel(NOW, tick=False):
        for _ in range(4):
            sign_in(client, "bob", "wrong")
        assert sign_in(client, "bob", DEMO_PASSWORD).status_code == 302
        client.post("/accounts/logout/")
        for _ in range(4):
            assert sign_in(client, "bob", "wrong").status_code == 200
    assert not AuditEvent.objects.filter(code="WDG-305").exists()


def test_the_lockout_message_does_not_tell_whether_the_user_exists(demo):
    with time_machine.travel(NOW, tick=False):
        for name in ("bob", "nobody-here"):
            for n in range(6):
                last = sign_in(Client(), name, "wrong", address=f"10.2.{len(name)}.{n}")
            assert locked(last)
            assert name.encode() not in last.content.split(b"<form")[0]


def test_limits_come_from_the_environment(tmp_path):
    from tests.config.test_settings_module import run_django

    script = (
        "from django.conf import settings\n"
        "print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds())\n"
    )
    result = run_django(
        ["shell", "-c", script],
        DEBUG="1",
        WEDGE_VAR_DIR=str(tmp_path),
        WEDGE_SIGN_IN_FAILURE_LIMIT="3",
        WEDGE_SIGN_IN_LOCKOUT_MINUTES="60",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["3", "3600.0"]
