"""The proposal page's status header and stage stepper, from what the engine recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from org import humane
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent, Subscription
from webhooks.selectors import announcement
from wedges import selectors
from wedges.services import (
    wedge_pause,
    wedge_record_snapshot,
    wedge_start,
    wedges_tick,
)
from wedges.status import headline, last_state_event, rollout_status, stage_steps

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def page_facts(proposal, user, now):
    wedge = selectors.visible_proposals(user).get(pk=proposal.pk).rollout_wedge
    events = list(selectors.proposal_events(user, proposal.pk))
    status = rollout_status(wedge, now)
    return wedge, events, status


def test_a_breach_reads_as_a_sentence_with_its_values(demo, submit):
    proposal = submit("alice", rollout_wedge={"initial_percentage": 10})
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics={"error_rate": 0.09, "p99": "900ms"},
        actor=demo["pipeline"],
        now=T0 + timedelta(minutes=30),
    )
    now = T0 + timedelta(hours=1)
    wedge, events, status = page_facts(proposal, demo["erin"], now)
    header = headline(wedge, events)
    assert (header.label, header.tone) == ("Rolled back", "rolled-back")
    assert header.since == T0 + timedelta(minutes=30)
    assert header.actor == "by Wedge, automatically"
    # Both comparisons of the trigger fired; the sentence names each with its value.
    assert header.cause == (
        "error_rate 0.09 > 0.05 and p99 900ms > 500ms (rollback trigger of stage canary)"
    )
    assert header.told == "The desired state tells deployers to go back to 0 % (nothing exposed)."
    steps = stage_steps(wedge, events, status, now)
    assert [(s.stage_id, s.status) for s in steps] == [
        ("canary", "failed"),
        ("half", "not-reached"),
        ("full", "not-reached"),
    ]
    assert steps[0].took == timedelta(minutes=30)
    assert steps[0].status_label == "Rolled back here"


def test_what_deployers_were_told_counts_the_webhooks(demo, submit):
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    subscription = Subscription.objects.create(
        url="https://deployer.example/hook",
        secret="s" * 32,
        events=["WDG-102"],
        created_by=demo["dave"],
    )
    wedge, events, _ = page_facts(proposal, demo["dave"], T0)
    started = last_state_event(wedge, events)
    assert started is not None
    outbox = OutboxEvent.objects.get(proposal_id=proposal.pk, event_code="WDG-102")
    OutboxEvent.objects.filter(pk=outbox.pk).update(fanned_out_at=T0)
    for status in (DeliveryStatus.DELIVERED, DeliveryStatus.PENDING):
        Delivery.objects.create(
            subscription=subscription,
            event=outbox if status == "delivered" else None,
            event_code="WDG-102",
            proposal_id=proposal.pk,
            payload={},
            created_at=T0,
            next_attempt_at=T0,
            status=status,
        )
    told = announcement(proposal_id=proposal.pk, event_code="WDG-102", at=started.occurred_at)
    assert told is not None
    assert (told.subscribers, told.delivered, told.pending) == (1, 1, 0)
    assert headline(wedge, events, told).told == (
        "The desired state tells deployers to hold 5 %; 1 of 1 webhook delivered."
    )


def test_an_automatic_pause_names_what_held_the_stage_back(demo, submit):
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics={"error_rate": 0.02, "p99": "150ms"},
        actor=demo["pipeline"],
        now=T0 + timedelta(hours=2, minutes=50),
    )
    wedges_tick(now=T0 + timedelta(hours=3))
    wedge, events, status = page_facts(proposal, demo["erin"], T0 + timedelta(hours=4))
    header = headline(wedge, events)
    assert header.label == "Paused"
    assert header.cause == (
        "stage initial stayed 3 times its 1 h observation window without becoming eligible: "
        "its success criteria were not met (error_rate 0.02, needs below 0.01)"
    )
    assert header.told == "The desired state tells deployers to hold 5 % while paused."
    assert [s.status for s in stage_steps(wedge, events, status, T0)][:2] == ["paused", "pending"]


def test_an_operator_s_hold_gives_their_reason(demo, submit):
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], reason="window open", now=T0)
    wedge, events, _ = page_facts(proposal, demo["erin"], T0)
    assert headline(wedge, events).note == "Started by dave: “window open”"
    wedge_pause(proposal_id=proposal.pk, actor=demo["bob"], reason="noisy canary", now=T0)
    wedge, events, _ = page_facts(proposal, demo["erin"], T0)
    header = headline(wedge, events)
    assert header.cause == "an operator put the rollout on hold"
    assert header.actor == "by bob"
    assert header.note == "Reason given by bob: “noisy canary”"


def test_the_stepper_of_a_running_rollout_plans_what_is_ahead(demo, submit):
    proposal = submit("alice")  # 5 % hold, then 10, 50, 90; 1 h windows and durations
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    now = T0 + timedelta(minutes=20)
    wedge, events, status = page_facts(proposal, demo["erin"], now)
    steps = stage_steps(wedge, events, status, now)
    assert [(s.label, s.status) for s in steps] == [
        ("Initial hold", "current"),
        ("Stage 1 of 3", "pending"),
        ("Stage 2 of 3", "pending"),
        ("Stage 3 of 3", "pending"),
    ]
    assert steps[0].advance_at == T0 + timedelta(hours=1)
    assert [s.planned_start for s in steps[1:]] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        T0 + timedelta(hours=3),
    ]
    assert status.stage_label == "Initial hold before stage 1 of 3"
    assert status.waiting == "Observing: the 1 h observation window ends in 40 min (10:00 UTC)."
    assert [r.verdict for r in status.readings] == ["no-data", "no-data"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (T0 + timedelta(minutes=47), "in 47 min (09:47 UTC)"),
        (T0 - timedelta(minutes=12), "12 min ago (08:48 UTC)"),
        (T0 + timedelta(seconds=20), "in under a minute (09:00 UTC)"),
        (T0 - timedelta(seconds=20), "just now (08:59 UTC)"),
        (T0 + timedelta(hours=2, minutes=5), "in 2 h 05 min (11:05 UTC)"),
        (T0 + timedelta(days=3), "in 3 days (5 Nov, 09:00 UTC)"),
        (T0 - timedelta(days=400), "400 days ago (28 Sep 2025, 09:00 UTC)"),
    ],
)
def test_times_read_as_people_say_them(moment, expected):
    assert humane.relative(moment, T0) == expected


def test_percentages_drop_trailing_zeros():
    from decimal import Decimal

    assert humane.percent(Decimal("40.00")) == "40 %"
    assert humane.percent(7.5) == "7.5 %"
    assert humane.percent(None) == "—"
