"""One subscriber's receiver answers slower than the delivery timeout.

Twelve rollbacks go out to it and to a healthy subscriber while it hangs.
What must hold: the healthy subscriber gets every RWG-003 at once, the beat
tick runs on time (its task expires like beat's if it waits), and the slow
receiver never has more than one attempt in flight.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from tests.webhooks.receiver import webhook_receiver
from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_create
from wedges.metrics import validate_metrics
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.services import wedge_record_snapshot, wedge_start

from .conftest import wait_until

SECRET = "fault-test-webhook-secret"
ROLLBACKS = 12
TIMEOUT = 2  # the delivery workers' WEDGE_WEBHOOK_TIMEOUT_SECONDS
# Seconds: what "at once" allows on two busy cores. Blocked behind the slow
# receiver, arrivals were 0.7-35 s late and fewer than twelve came within 15 s.
LATE = 5.0

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_due_to_advance(wedge: RolloutWedge, demo: dict) -> None:
    """Window over, a fresh healthy snapshot: the next tick must advance it."""
    now = timezone.now()
    snapshot = MetricSnapshot.objects.create(
        wedge=wedge,
        received_at=now - timedelta(minutes=1),
        values={"error_rate": 0.001, "p99": "120ms"},
        stage_index=wedge.current_stage_index,
        reported_by=demo["alice"],
    )
    RolloutWedge.objects.filter(pk=wedge.pk).update(
        stage_opened_at=now - timedelta(hours=2),
        window_ends_at=now - timedelta(hours=1),
        latest_snapshot=snapshot,
    )


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_delays_neither_the_tick_nor_a_healthy_subscriber(
    demo, submit, broker, workers
):
    with webhook_receiver(SECRET) as slow, webhook_receiver(SECRET) as healthy:
        slow.sleep_seconds = TIMEOUT + 2
        for receiver in (slow, healthy):
            subscription_create(
                actor=demo["dave"], url=receiver.url, secret=SECRET, events=["RWG-003"]
            )
        proposals = [submit("alice") for _ in range(ROLLBACKS + 1)]
        for proposal in proposals:
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
        *breaching, ticking = proposals
        # The production layout: one pool for the engine, one for deliveries.
        engine = workers(broker.url, queues="engine,celery")
        hooks = workers(broker.url, queues="webhooks", WEDGE_WEBHOOK_TIMEOUT_SECONDS=str(TIMEOUT))
        engine.wait_ready()
        hooks.wait_ready()

        sent: dict[int, float] = {}
        for proposal in breaching:
            sent[proposal.pk] = time.monotonic()
            wedge_record_snapshot(
                proposal_id=proposal.pk,
                metrics=validate_metrics({"metrics": {"error_rate": 0.5}}),
                actor=demo["alice"],
            )
        assert wait_until(lambda: slow.in_flight >= 1, timeout=10), hooks.output()

        # The healthy subscriber is served while the slow one hangs.
        assert healthy.wait_for(ROLLBACKS, timeout=15), (healthy.received, hooks.output())
        lateness = [e["arrived_at"] - sent[e["proposal_id"]] for e in healthy.received]
        assert max(lateness) < LATE, sorted(lateness)
        assert slow.in_flight == 1  # still hanging: the congestion is real

        # The tick, sent as beat sends it, runs on time.
        wedge = RolloutWedge.objects.get(proposal=ticking)
        make_due_to_advance(wedge, demo)
        began = time.monotonic()
        app.send_task("wedges.tasks.tick", expires=settings.WEDGE_TICK_SECONDS, ignore_result=True)

        def advanced() -> bool:
            current = RolloutWedge.objects.get(pk=wedge.pk)
            return current.wedge_state == State.ACTIVE and current.current_stage_index == 0

        assert wait_until(advanced, timeout=LATE), engine.output()
        assert time.monotonic() - began < LATE

        # Let the slow receiver fail a few times.
        slow_subscription = Subscription.objects.get(url=slow.url)
        assert wait_until(
            lambda: (
                Delivery.objects.filter(subscription=slow_subscription, attempts__gt=0).count() >= 2
            ),
            timeout=3 * (TIMEOUT + 3),
        ), hooks.output()
    # One attempt at a time: each began only once the one before had timed out
    # (the receiver itself sleeps on after the worker has given up).
    gaps = [b - a for a, b in zip(slow.request_times, slow.request_times[1:], strict=False)]
    assert gaps
    assert min(gaps) >= TIMEOUT - 0.1, gaps
    assert healthy.bad_signatures == 0
    assert sorted(e["proposal_id"] for e in healthy.received) == sorted(sent)
