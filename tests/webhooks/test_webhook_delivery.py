"""Webhooks delivered by a real Celery worker through Redis to a local receiver."""

import time

import pytest
import time_machine
from django.utils import timezone

from webhooks.models import Delivery, DeliveryStatus, OutboxEvent
from webhooks.services import backoff, deliver, fan_out, subscription_create
from wedges.metrics import validate_metrics
from wedges.services import wedge_record_snapshot, wedge_start

from .receiver import webhook_receiver

SECRET = "a-webhook-secret-of-some-length"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_rollback_reaches_a_receiver_signed(demo, submit, celery_worker_process):
    with webhook_receiver(SECRET) as receiver:
        subscription_create(
            actor=demo["dave"], url=receiver.url, secret=SECRET, events=["WDG-102", "RWG-003"]
        )
        proposal = submit("alice")
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
        wedge_record_snapshot(
            proposal_id=proposal.pk,
            metrics=validate_metrics({"metrics": {"error_rate": 0.5}}),
            actor=demo["alice"],
        )
        assert receiver.wait_for(2, timeout=20), (
            receiver.received,
            list(Delivery.objects.values("event_code", "status", "attempts", "last_error")),
        )
    assert receiver.bad_signatures == 0
    events = sorted(receiver.received, key=lambda e: e["event"])
    assert [e["event"] for e in events] == ["RWG-003", "WDG-102"]
    rollback = events[0]
    assert rollback["proposal_id"] == proposal.pk
    assert rollback["wedge_state"] == "ROLLED_BACK"
    assert rollback["exposure_percentage"] == 0
    assert rollback["stage_id"] == "initial"
    # The receiver answered before the worker committed the attempt: wait for it.
    deadline = time.monotonic() + 10
    delivery = Delivery.objects.get(pk=rollback["delivery"])
    while delivery.status != DeliveryStatus.DELIVERED and time.monotonic() < deadline:
        time.sleep(0.05)
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 204


@pytest.mark.django_db
def test_failed_attempt_is_retried_with_the_same_delivery_id(
    demo, submit, django_capture_on_commit_callbacks
):
    with webhook_receiver(SECRET) as receiver:
        receiver.fail_first = 1
        subscription_create(actor=demo["dave"], url=receiver.url, secret=SECRET, events=["WDG-102"])
        proposal = submit("alice")
        with django_capture_on_commit_callbacks(execute=False):
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
        (delivery_id,) = fan_out(OutboxEvent.objects.get(event_code="WDG-102").pk)
        with time_machine.travel(timezone.now(), tick=False) as clock:
            first = deliver(delivery_id)
            assert first is not None
            assert first.status == DeliveryStatus.PENDING
            delivery = Delivery.objects.get(pk=delivery_id)
            assert delivery.attempts == 1
            assert delivery.last_status_code == 500
            assert delivery.next_attempt_at == delivery.last_attempt_at + backoff(1)
            assert first.retry_at == delivery.next_attempt_at
            clock.shift(backoff(1))
            second = deliver(delivery_id)
        assert second is not None
        assert second.status == DeliveryStatus.DELIVERED
        assert Delivery.objects.get(pk=delivery_id).attempts == 2
    assert [e["delivery"] for e in receiver.received] == [delivery_id]


def test_backoff_is_exponential_and_capped(settings):
    settings.WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS = 60
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.django_db
def test_only_operators_and_leads_subscribe(token_client):
    body = {"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": ["RWG-003"]}
    assert token_client("alice").post("/api/v1/webhooks/", body, format="json").status_code == 403
    response = token_client("dave").post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 201
    assert "secret" not in response.json()
    bad = token_client("bob").post("/api/v1/webhooks/", {**body, "events": ["NOPE"]}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "events[0]"
    log = token_client("dave").get(f"/api/v1/webhooks/{response.json()['id']}/deliveries/")
    assert log.status_code == 200
    assert log.json()["results"] == []
