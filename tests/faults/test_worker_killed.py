"""The Celery worker is SIGKILLed while webhook deliveries are in flight.

What must hold: the deliveries the dead worker was posting stay pending under
a lease (claimed, attempt counted, no row lock held across the POST); once the
lease runs out the beat re-drive queues them again, a restarted worker
delivers every row, and a receiver that de-duplicates by ``X-Wedge-Delivery``
ends up with each delivery exactly once, even though some reached it twice at
the HTTP level.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery import app
from tests.webhooks.receiver import webhook_receiver
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent
from webhooks.services import subscription_create
from wedges.metrics import validate_metrics
from wedges.services import wedge_record_snapshot, wedge_start

from .conftest import wait_until

SECRET = "fault-test-webhook-secret"
PROPOSALS = 4  # each: WDG-102 (start) and RWG-003 (rollback) -> 8 deliveries

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


class CountingIds(set[str]):
    """The receiver's ``seen_ids``, counting how often each id was checked.

    The receiver asks ``delivery not in seen_ids`` once per correctly signed
    POST, so the count is the number of times a delivery reached it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.posts: Counter[str] = Counter()

    def __contains__(self, item: object) -> bool:
        self.posts[str(item)] += 1
        return super().__contains__(item)


class Gate:
    """Stands in for the receiver's condition; counts POSTs that reached it.

    The receiver's handler reads the whole body, then enters
    ``with receiver.arrived:`` to record it. While the test holds the lock
    behind that condition, every handler thread counted here has a complete
    request in hand and waits: the worker that sent it waits for the answer.
    """

    def __init__(self, condition: threading.Condition) -> None:
        self.condition = condition
        self.handlers_waiting = 0
        self._count = threading.Lock()

    def __enter__(self) -> bool:
        if threading.current_thread() is not threading.main_thread():
            with self._count:
                self.handlers_waiting += 1
        return self.condition.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.condition.__exit__(*exc)  # type: ignore[arg-type]

    def notify_all(self) -> None:
        self.condition.notify_all()

    def wait_for(self, predicate: Any, timeout: float | None = None) -> bool:
        return self.condition.wait_for(predicate, timeout)


def locked_pending() -> int:
    """Pending deliveries whose row lock somebody holds right now."""
    with transaction.atomic():
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
        total = pending.count()
        free = len(pending.select_for_update(skip_locked=True).values_list("pk", flat=True))
    return total - free


def leased() -> int:
    """Pending deliveries claimed for an attempt whose lease has not run out."""
    return Delivery.objects.filter(
        status=DeliveryStatus.PENDING, lease_until__gt=timezone.now()
    ).count()


@pytest.mark.django_db(transaction=True)
def test_every_delivery_arrives_exactly_once_after_the_worker_is_killed(
    demo, submit, broker, workers
):
    with webhook_receiver(SECRET) as receiver:
        receiver.seen_ids = CountingIds()
        gate = Gate(receiver.arrived)
        receiver.arrived = gate
        subscription_create(
            actor=demo["dave"], url=receiver.url, secret=SECRET, events=["WDG-102", "RWG-003"]
        )
        # No worker yet: the transitions commit and their fan-outs wait in Redis.
        for _ in range(PROPOSALS):
            proposal = submit("alice")
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
            wedge_record_snapshot(
                proposal_id=proposal.pk,
                metrics=validate_metrics({"metrics": {"error_rate": 0.5}}),
                actor=demo["alice"],
            )
        assert OutboxEvent.objects.count() == 2 * PROPOSALS

        # The receiver "hangs" (its lock held): the worker's POSTs arrive and
        # wait for an answer while their rows are leased to that worker.
        receiver.lock.acquire()
        try:
            # Its attempts time out after 8 s, longer than the test holds the receiver.
            first = workers(broker.url, WEDGE_WEBHOOK_TIMEOUT_SECONDS="8")
            assert wait_until(lambda: gate.handlers_waiting >= 1, timeout=60), first.output()
            # One attempt in flight per subscription (WEDGE_WEBHOOK_MAX_IN_FLIGHT).
            wait_until(lambda: gate.handlers_waiting >= 2, timeout=1)
            in_flight = gate.handlers_waiting
            assert in_flight == 1
            # The row being posted is leased and no database lock is held meanwhile.
            assert leased() == in_flight
            assert locked_pending() == 0
            first.kill()
        finally:
            receiver.lock.release()
        # What the dead worker had POSTed is now read by the receiver...
        assert wait_until(lambda: len(receiver.received) >= in_flight, timeout=10)
        # ...yet the rows say nothing was delivered: the outcome was never recorded.
        assert not Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()

        second = workers(broker.url)
        second.wait_ready()
        # The dead worker's lease must run out before anyone posts that row
        # again; its reserved messages stay unacked in Redis for the visibility
        # timeout (an hour), so the re-drive, which beat runs every
        # WEDGE_OUTBOX_REDRIVE_SECONDS, is what gets them going again.
        assert wait_until(lambda: leased() == 0, timeout=30)
        app.send_task("webhooks.tasks.redrive", ignore_result=True)

        def all_delivered() -> bool:
            rows = Delivery.objects.all()
            return (
                rows.count() == 2 * PROPOSALS
                and not rows.exclude(status=DeliveryStatus.DELIVERED).exists()
            )

        assert wait_until(all_delivered, timeout=60), (
            list(Delivery.objects.values("status", "attempts", "last_error", "lease_until")),
            second.output(),
        )
        outbox = set(map(str, Delivery.objects.values_list("pk", flat=True)))
        assert wait_until(lambda: len(receiver.received) >= len(outbox), timeout=10)

    received = [str(event["delivery"]) for event in receiver.received]
    assert sorted(received) == sorted(outbox)  # each delivery once, none missing
    assert receiver.bad_signatures == 0
    posts: Counter[str] = receiver.seen_ids.posts
    # At least once on the wire: the in-flight one arrived twice...
    assert sum(1 for count in posts.values() if count > 1) >= in_flight
    # ...and exactly once for the deployer, thanks to the delivery id.
    events: Any = Counter((e["event"], e["proposal_id"]) for e in receiver.received)
    assert set(events.values()) == {1}
    assert Counter(e["event"] for e in receiver.received) == {
        "WDG-102": PROPOSALS,
        "RWG-003": PROPOSALS,
    }
    # The attempt that died counts against the delivery's budget: it was claimed.
    attempts = Counter(Delivery.objects.values_list("attempts", flat=True))
    assert attempts == {1: 2 * PROPOSALS - in_flight, 2: in_flight}
