"""The Celery worker is SIGKILLed while webhook deliveries are in flight.

What must hold: the outbox rows the dead worker was posting stay pending (its
transactions died with it), the beat re-drive queues them again, a restarted
worker delivers every row, and a receiver that de-duplicates by
``X-Wedge-Delivery`` ends up with each delivery exactly once, even though some
reached it twice at the HTTP level.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from config.celery import app
from tests.webhooks.receiver import webhook_receiver
from webhooks.models import Delivery, DeliveryStatus
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
    """Pending deliveries whose row lock a worker holds right now (mid-POST)."""
    with transaction.atomic():
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING)
        total = pending.count()
        free = len(pending.select_for_update(skip_locked=True).values_list("pk", flat=True))
    return total - free


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
        # No worker yet: the transitions commit and their tasks wait in Redis.
        for _ in range(PROPOSALS):
            proposal = submit("alice")
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
            wedge_record_snapshot(
                proposal_id=proposal.pk,
                metrics=validate_metrics({"metrics": {"error_rate": 0.5}}),
                actor=demo["alice"],
            )
        outbox = set(map(str, Delivery.objects.values_list("pk", flat=True)))
        assert len(outbox) == 2 * PROPOSALS

        # The receiver "hangs" (its lock held): the worker's POSTs arrive and
        # wait for an answer while the worker holds the delivery rows locked.
        receiver.lock.acquire()
        try:
            first = workers(broker.url, WEDGE_WEBHOOK_TIMEOUT_SECONDS="60")
            assert wait_until(lambda: gate.handlers_waiting >= 1, timeout=60), first.output()
            # Its second process may be a moment behind; either way is a valid test.
            wait_until(lambda: gate.handlers_waiting >= 2, timeout=2)
            in_flight = gate.handlers_waiting
            # Each POST in flight is a delivery row the worker holds locked.
            assert locked_pending() >= in_flight
            first.kill()
            # The dead worker's connections are gone: PostgreSQL rolled its
            # transactions back and released the row locks.
            assert wait_until(lambda: locked_pending() == 0, timeout=10)
        finally:
            receiver.lock.release()
        # What the dead worker had POSTed is now read by the receiver...
        assert wait_until(lambda: len(receiver.received) >= in_flight, timeout=10)
        # ...yet the rows say nothing was delivered: the attempt never committed.
        assert not Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()
        assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2 * PROPOSALS

        second = workers(broker.url)
        second.wait_ready()
        # What beat does every WEDGE_OUTBOX_REDRIVE_SECONDS: the killed worker's
        # reserved messages stay unacked in Redis for the visibility timeout
        # (an hour), so only the re-drive gets them going again.
        app.send_task("webhooks.tasks.redrive", ignore_result=True)

        def all_delivered() -> bool:
            return not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()

        assert wait_until(all_delivered, timeout=60), (
            list(Delivery.objects.values("status", "attempts", "last_error")),
            second.output(),
        )
        assert wait_until(lambda: len(receiver.received) >= len(outbox), timeout=10)

    received = [str(event["delivery"]) for event in receiver.received]
    assert sorted(received) == sorted(outbox)  # each delivery once, none missing
    assert receiver.bad_signatures == 0
    posts: Counter[str] = receiver.seen_ids.posts
    # At least once on the wire: the in-flight ones arrived twice...
    assert sum(1 for count in posts.values() if count > 1) >= in_flight
    # ...and exactly once for the deployer, thanks to the delivery id.
    events: Any = Counter((e["event"], e["proposal_id"]) for e in receiver.received)
    assert set(events.values()) == {1}
    assert Counter(e["event"] for e in receiver.received) == {
        "WDG-102": PROPOSALS,
        "RWG-003": PROPOSALS,
    }
    # The attempt that died was rolled back with the worker: one recorded attempt each.
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
