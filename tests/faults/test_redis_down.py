"""Redis (the broker) is down while breaching snapshots arrive.

What must hold: each rollback commits in its request and the API answers it
at once; desired-state says exposure 0 immediately; the notifications wait in
the outbox (a restarted Redis has lost every queued message) and go out when
Redis is back and the beat re-drive runs.
"""

from __future__ import annotations

import time

import pytest

from audit.models import AuditEvent
from config.celery import app
from tests.webhooks.receiver import webhook_receiver
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent
from webhooks.services import subscription_create
from wedges.models import RolloutWedge, State
from wedges.services import wedge_start

from .conftest import wait_until

SECRET = "fault-test-webhook-secret"
PROPOSALS = 3
# A rollback request must not hang on a dead broker. Queueing is attempted
# after commit with Celery's publish retry policy (a few tries, < 2 s in all).
REQUEST_BUDGET_SECONDS = 5.0

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.mark.django_db(transaction=True)
def test_rollbacks_commit_without_redis_and_are_announced_when_it_returns(
    demo, submit, token_client, broker, workers
):
    with webhook_receiver(SECRET) as receiver:
        subscription_create(actor=demo["dave"], url=receiver.url, secret=SECRET, events=["RWG-003"])
        proposals = [submit("alice") for _ in range(PROPOSALS)]
        for proposal in proposals:
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
        worker = workers(broker.url)
        worker.wait_ready()

        broker.stop()
        assert not broker.ping()
        health = token_client("dave").get("/healthz")
        assert health.status_code == 503, health.content  # the outage is visible

        alice = token_client("alice")
        slowest = 0.0
        for proposal in proposals:
            began = time.monotonic()
            answer = alice.post(
                f"/api/v1/proposals/{proposal.pk}/metrics/",
                {"metrics": {"error_rate": 0.4}},
                format="json",
            )
            slowest = max(slowest, time.monotonic() - began)
            assert answer.status_code == 200, answer.content
            assert answer.json()["wedge_state"] == State.ROLLED_BACK
            desired = alice.get(f"/api/v1/proposals/{proposal.pk}/desired-state/")
            assert desired.status_code == 200
            assert desired.json()["exposure_percentage"] == 0
            assert desired.json()["wedge_state"] == State.ROLLED_BACK
        assert slowest < REQUEST_BUDGET_SECONDS, f"a rollback request took {slowest:.1f} s"

        ids = [p.pk for p in proposals]
        rolled_back = RolloutWedge.objects.filter(proposal_id__in=ids, wedge_state="ROLLED_BACK")
        assert rolled_back.count() == PROPOSALS
        assert AuditEvent.objects.filter(proposal_id__in=ids, code="RWG-003").count() == PROPOSALS
        # The outbox holds the notifications; none could reach the worker.
        waiting = OutboxEvent.objects.filter(event_code="RWG-003", fanned_out_at__isnull=True)
        assert waiting.count() == PROPOSALS
        assert not Delivery.objects.filter(event_code="RWG-003").exists()
        # The worker is up but cut off from its broker: nothing can go out.
        time.sleep(1.0)
        assert receiver.received == []

        broker.start()  # empty: nothing queued before the outage survived it
        # Beat's re-drive (every WEDGE_OUTBOX_REDRIVE_SECONDS) finds the rows.
        app.send_task("webhooks.tasks.redrive", ignore_result=True)

        def delivered() -> bool:
            rollbacks = Delivery.objects.filter(event_code="RWG-003")
            return (
                rollbacks.count() == PROPOSALS
                and not rollbacks.exclude(status=DeliveryStatus.DELIVERED).exists()
            )

        assert wait_until(delivered, timeout=60), (
            list(Delivery.objects.values("status", "attempts", "last_error")),
            worker.output(),
        )
        assert wait_until(lambda: len(receiver.received) >= PROPOSALS, timeout=10)

    assert receiver.bad_signatures == 0
    assert sorted(e["proposal_id"] for e in receiver.received) == sorted(ids)
    assert {e["event"] for e in receiver.received} == {"RWG-003"}
    assert {e["exposure_percentage"] for e in receiver.received} == {0}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_rollback_request_stays_fast_with_many_subscribers_and_no_redis(
    demo, submit, token_client, broker
):
    for n in range(8):
        subscription_create(
            actor=demo["dave"], url=f"http://127.0.0.1:9/{n}", secret=SECRET, events=["RWG-003"]
        )
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    broker.stop()
    began = time.monotonic()
    answer = token_client("alice").post(
        f"/api/v1/proposals/{proposal.pk}/metrics/", {"metrics": {"error_rate": 0.4}}, format="json"
    )
    elapsed = time.monotonic() - began
    assert answer.status_code == 200
    assert answer.json()["wedge_state"] == State.ROLLED_BACK
    # One outbox row for the event; a worker fans it out to the 8 subscribers later.
    assert OutboxEvent.objects.filter(event_code="RWG-003", fanned_out_at__isnull=True).count() == 1
    assert elapsed < 2.0, f"the rollback request took {elapsed:.1f} s with 8 subscribers"
