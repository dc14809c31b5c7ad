"""Retries wait for their backoff; one receiver cannot take more than its share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from webhooks import services, tasks
from webhooks.models import Delivery, DeliveryStatus, Subscription

from .conftest import SECRET
from .receiver import webhook_receiver

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.mark.django_db
def test_a_second_task_for_a_delivery_in_backoff_does_not_post(subscribe, outbox_row):
    """Congestion queues a retry and a re-drive of the same row; the second must wait."""
    with webhook_receiver(SECRET) as receiver, time_machine.travel(NOW, tick=False) as clock:
        receiver.fail_first = 5
        delivery = outbox_row(subscribe(receiver.url), created_at=NOW, next_attempt_at=NOW)
        services.deliver(str(delivery.pk))
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == NOW + services.backoff(1)
        clock.shift(services.backoff(1) - seconds(0.5))
        services.deliver(str(delivery.pk))  # the duplicate, early
        assert receiver.requests == 1
        assert services.due_deliveries(timezone.now()) == []
        clock.shift(seconds(0.5))
        assert services.due_deliveries(timezone.now()) == [str(delivery.pk)]
        services.deliver(str(delivery.pk))
        assert receiver.requests == 2
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == NOW + services.backoff(1) + services.backoff(2)


@pytest.mark.django_db
def test_twelve_attempts_take_at_least_the_whole_backoff_schedule(subscribe, outbox_row, settings):
    """Every task queued as early as possible still gets one attempt per backoff step."""
    settings.WEDGE_WEBHOOK_CIRCUIT_FAILURES = 100  # the schedule alone, no breaker
    with webhook_receiver(SECRET) as receiver, time_machine.travel(NOW, tick=False) as clock:
        receiver.fail_first = 100
        delivery = outbox_row(subscribe(receiver.url), created_at=NOW, next_attempt_at=NOW)
        while Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING:
            services.deliver(str(delivery.pk))
            services.deliver(str(delivery.pk))  # a duplicate right behind it
            clock.shift(seconds(1))
        elapsed = (timezone.now() - NOW).total_seconds()
    assert receiver.requests == settings.WEDGE_WEBHOOK_MAX_ATTEMPTS == 12
    assert elapsed >= sum(services.backoff(n).total_seconds() for n in range(1, 12)) == 1111


@pytest.mark.django_db
def test_the_task_retries_at_the_backoff_time_and_not_before(subscribe, outbox_row):
    with webhook_receiver(SECRET) as receiver, time_machine.travel(NOW, tick=False):
        receiver.fail_first = 1
        delivery = outbox_row(subscribe(receiver.url), created_at=NOW, next_attempt_at=NOW)
        with mock.patch("webhooks.tasks.publish") as publish:
            tasks.deliver.run(str(delivery.pk))
    publish.assert_called_once_with(
        tasks.DELIVER, [str(delivery.pk)], eta=NOW + services.backoff(1)
    )


@pytest.mark.django_db
def test_one_delivery_in_flight_per_subscription_others_wait(subscribe, outbox_row, settings):
    settings.WEDGE_WEBHOOK_MAX_IN_FLIGHT = 1
    with webhook_receiver(SECRET) as slow, webhook_receiver(SECRET) as healthy:
        busy = subscribe(slow.url)
        in_flight = outbox_row(busy, lease_until=timezone.now() + seconds(30), attempts=1)
        waiting = outbox_row(busy)
        other = outbox_row(subscribe(healthy.url))
        services.deliver(str(waiting.pk))
        services.deliver(str(other.pk))
        assert slow.requests == 0
        assert healthy.requests == 1
        waiting.refresh_from_db()
        assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 0)
        # When the attempt in flight ends, the next one of that subscription is handed on.
        Delivery.objects.filter(pk=in_flight.pk).update(lease_until=None)
        with mock.patch("webhooks.tasks.publish") as publish:
            tasks.deliver.run(str(in_flight.pk))
        assert slow.requests == 1
    publish.assert_called_once_with(tasks.DELIVER, [str(waiting.pk)])


@pytest.mark.django_db
def test_a_failing_receiver_opens_its_circuit_then_gets_one_trial(subscribe, outbox_row, settings):
    settings.WEDGE_WEBHOOK_CIRCUIT_FAILURES = 3
    settings.WEDGE_WEBHOOK_CIRCUIT_COOLDOWN_SECONDS = 30
    with webhook_receiver(SECRET) as receiver, time_machine.travel(NOW, tick=False) as clock:
        receiver.fail_first = 4
        subscription = subscribe(receiver.url)
        rows = [outbox_row(subscription, created_at=NOW, next_attempt_at=NOW) for _ in range(5)]
        for row in rows[:3]:
            services.deliver(str(row.pk))
        subscription.refresh_from_db()
        assert subscription.consecutive_failures == 3
        assert subscription.circuit_open_until == NOW + seconds(30)
        # Open: nothing is posted; the row waits for the circuit, its attempts untouched.
        services.deliver(str(rows[3].pk))
        assert receiver.requests == 3
        rows[3].refresh_from_db()
        assert (rows[3].attempts, rows[3].next_attempt_at) == (0, NOW + seconds(30))
        assert str(rows[3].pk) not in services.due_deliveries(timezone.now())

        clock.shift(seconds(30))  # half-open: one trial, the others wait for it
        with mock.patch("webhooks.tasks.publish"):
            subscription.refresh_from_db()
            claim = services.claim(str(rows[3].pk), now=timezone.now())
            assert claim is not None
            assert services.claim(str(rows[4].pk), now=timezone.now()) is None
            services.post_and_record(claim)
        assert receiver.requests == 4  # the trial failed: open again, for longer
        subscription.refresh_from_db()
        assert subscription.circuit_open_until == NOW + seconds(30) + seconds(60)

        clock.shift(seconds(60))
        services.deliver(str(rows[4].pk))  # this trial succeeds: closed again
        subscription.refresh_from_db()
        assert subscription.circuit_open_until is None
        assert subscription.consecutive_failures == 0
        assert receiver.requests == 5


@pytest.mark.django_db
def test_a_delivery_for_a_deactivated_subscription_is_cancelled(subscribe, outbox_row):
    with webhook_receiver(SECRET) as receiver:
        subscription = subscribe(receiver.url)
        delivery = outbox_row(subscription)
        Subscription.objects.filter(pk=subscription.pk).update(active=False)
        services.deliver(str(delivery.pk))
        assert receiver.requests == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED


@pytest.mark.django_db
def test_the_fan_out_task_attempts_one_delivery_itself_and_queues_the_others(subscribe):
    from webhooks.models import OutboxEvent

    with webhook_receiver(SECRET) as first, webhook_receiver(SECRET) as second:
        subscribe(first.url)
        subscribe(second.url)
        event = OutboxEvent.objects.create(
            event_code="RWG-003",
            proposal_id=1,
            payload={"event": "RWG-003", "proposal_id": 1},
            created_at=timezone.now(),
        )
        posted_when_queued = []

        def queue(task, ids, **options):
            posted_when_queued.append(first.requests + second.requests)
            return len(ids)

        with mock.patch("webhooks.tasks.publish", side_effect=queue) as publish:
            assert tasks.fan_out.run(str(event.pk)) == 2
        assert posted_when_queued == [0]
        # One receiver has it already, without a trip through the broker ...
        assert first.requests + second.requests == 1
    delivered = Delivery.objects.get(status=DeliveryStatus.DELIVERED)
    waiting = Delivery.objects.get(status=DeliveryStatus.PENDING, attempts=0)
    # ... and the other delivery was queued before that attempt began.
    publish.assert_called_once_with(tasks.DELIVER, [str(waiting.pk)])
    assert delivered.event_id == waiting.event_id == event.pk
    # A second run of the task (a re-drive racing it) adds nothing.
    with mock.patch("webhooks.tasks.publish") as again:
        assert tasks.fan_out.run(str(event.pk)) == 0
    again.assert_not_called()
