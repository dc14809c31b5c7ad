"""Claiming a delivery with a lease, posting outside any transaction, recording the result."""

from __future__ import annotations

import ast
import socket
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliver

from .conftest import SECRET
from .receiver import webhook_receiver

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_receiver_is_posted_to(subscribe, outbox_row):
    """Another connection can lock the row mid-POST: nothing waits on a slow receiver."""
    db = connection.settings_dict
    seen: dict[str, object] = {}

    def try_to_lock(delivery_id: str) -> None:
        with psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"],
            dbname=db["NAME"],
        ) as other:
            try:
                other.execute(
                    "SELECT id FROM webhooks_delivery WHERE id = %s FOR UPDATE NOWAIT",
                    [delivery_id],
                )
                row = other.execute(
                    "SELECT attempts, lease_until FROM webhooks_delivery WHERE id = %s",
                    [delivery_id],
                ).fetchone()
                seen["row"] = row
            except psycopg.Error as error:
                seen["error"] = type(error).__name__

    with webhook_receiver(SECRET) as receiver:
        receiver.on_request = try_to_lock
        delivery = outbox_row(subscribe(receiver.url))
        before = timezone.now()
        result = deliver(str(delivery.pk))
    assert "error" not in seen, seen
    attempts, lease_until = seen["row"]
    # The claim committed before the POST: one attempt counted, a lease taken.
    assert attempts == 1
    assert lease_until > before
    assert result is not None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.lease_until is None


@pytest.mark.django_db
def test_a_leased_delivery_is_not_posted_again_until_the_lease_ends(subscribe, outbox_row):
    with webhook_receiver(SECRET) as receiver:
        now = timezone.now()
        delivery = outbox_row(subscribe(receiver.url), lease_until=now + timedelta(seconds=30))
        deliver(str(delivery.pk))
        assert receiver.requests == 0
        Delivery.objects.filter(pk=delivery.pk).update(lease_until=now - timedelta(seconds=1))
        deliver(str(delivery.pk))
        assert receiver.requests == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_counts_as_a_failure(subscribe, outbox_row):
    with webhook_receiver(SECRET) as receiver:
        receiver.answer = (302, {"Location": "http://169.254.169.254/latest/"}, b"")
        subscription = subscribe(receiver.url)
        delivery = outbox_row(subscription)
        deliver(str(delivery.pk))
        assert receiver.requests == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 302
    assert delivery.last_error == "redirect not followed: HTTP 302"
    assert delivery.next_attempt_at > delivery.last_attempt_at
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1


@pytest.mark.django_db
def test_the_receiver_reply_is_not_kept(subscribe, outbox_row):
    """A subscription aimed at an internal service must not read its answers back."""
    with webhook_receiver(SECRET) as receiver:
        receiver.answer = (500, {"Content-Type": "text/plain"}, b"db password=hunter2\n" * 40)
        delivery = outbox_row(subscribe(receiver.url))
        deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500"


@pytest.mark.django_db
def test_a_refused_connection_is_recorded_in_two_words(subscribe, outbox_row):
    delivery = outbox_row(subscribe(f"http://127.0.0.1:{closed_port()}/hook"))
    deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert delivery.last_error == "connection refused"


@pytest.mark.django_db
def test_a_receiver_slower_than_the_timeout_is_recorded_as_a_timeout(
    subscribe, outbox_row, settings
):
    settings.WEDGE_WEBHOOK_TIMEOUT_SECONDS = 0.2
    with webhook_receiver(SECRET) as receiver:
        receiver.sleep_seconds = 1.0
        delivery = outbox_row(subscribe(receiver.url))
        deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert delivery.last_error == "timeout"


def test_the_service_does_not_import_its_tasks():
    """services -> tasks -> services was a cycle; the hand-off to Celery goes by task name."""
    tree = ast.parse((ROOT / "webhooks" / "services.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "webhooks.tasks" not in imported
