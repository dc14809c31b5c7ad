"""The rollback SLO as measured: evidence, commit, and the deployer told (INV-RWG-ROLLBACK)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webhooks import services as webhooks
from webhooks.models import OutboxEvent, Subscription
from wedges.models import MetricSnapshot, RollbackTiming, RolloutWedge
from wedges.services import rollout
from wedges.services.timing import rollback_told

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def proposal(submit, demo):
    proposal = submit("alice")
    with at(T0):
        rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    return proposal


@pytest.fixture
def dave(token_client):
    return token_client("dave")


def breach(proposal, demo, moment: datetime) -> None:
    with at(moment):
        outcome = rollout.wedge_record_snapshot(
            proposal_id=proposal.pk, metrics=BREACH, actor=demo["alice"], now=moment
        )
    assert outcome.wedge.wedge_state == "ROLLED_BACK"


def timing_of(proposal) -> RollbackTiming:
    return RollbackTiming.objects.get(wedge__proposal=proposal)


def read_desired_state(client, proposal, moment: datetime):
    with at(moment):
        response = client.get(f"/api/v1/proposals/{proposal.pk}/desired-state/")
    assert response.status_code == 200
    return response


def test_a_pushed_breach_is_timed_from_its_receipt_and_written_with_the_rollback(proposal, demo):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    timing = timing_of(proposal)
    assert timing.evidence_source == "snapshot_pushed"
    assert timing.evidence_at == moment
    # The clock is frozen: the operation's own duration is all that separates them.
    assert timedelta(0) <= timing.decided < timedelta(seconds=5)
    assert timing.told_at is None
    assert timing.told_via == ""
    assert OutboxEvent.objects.get(pk=timing.outbox_event_id).event_code == "RWG-003"


@pytest.mark.parametrize(
    ("after", "within"),
    [(timedelta(seconds=59), True), (timedelta(seconds=60), True), (timedelta(seconds=61), False)],
)
def test_the_first_desired_state_read_tells_the_deployer_at_the_60_s_edge(
    proposal, demo, dave, after, within
):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    read_desired_state(dave, proposal, moment + after)
    timing = timing_of(proposal)
    assert (timing.told_at, timing.told_via) == (moment + after, "desired_state")
    assert timing.told == after
    assert timing.within_slo is within
    assert timing.slo == timedelta(seconds=60)  # version 1's, the wedge's


def test_later_reads_change_nothing_and_cost_no_update(proposal, demo, dave):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    read_desired_state(dave, proposal, moment + timedelta(seconds=2))
    with CaptureQueriesContext(connection) as queries:
        read_desired_state(dave, proposal, moment + timedelta(seconds=30))
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert timing_of(proposal).told_at == moment + timedelta(seconds=2)


def test_a_running_wedge_read_writes_nothing(proposal, dave):
    with CaptureQueriesContext(connection) as queries:
        read_desired_state(dave, proposal, T0 + timedelta(minutes=1))
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert not RollbackTiming.objects.exists()


def delivered(outbox_id: int, moment: datetime) -> None:
    """The event fanned out to one subscriber and delivered at ``moment`` (no network)."""
    with at(moment):
        ids = webhooks.fan_out(outbox_id)
        assert len(ids) == 1
        claim = webhooks.claim(ids[0], now=moment)
        assert claim is not None
        webhooks.record(claim, delivered=True, status_code=204, error="", now=moment)


@pytest.fixture
def subscriber(demo):
    return Subscription.objects.create(
        url="https://deployer.example.com/hook",
        secret="x" * 32,
        events=["RWG-003"],
        created_by=demo["dave"],
    )


def test_a_webhook_delivery_tells_the_deployer(proposal, demo, subscriber):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    delivered(timing_of(proposal).outbox_event_id, moment + timedelta(seconds=3))
    timing = timing_of(proposal)
    assert (timing.told, timing.told_via) == (timedelta(seconds=3), "webhook")


def test_the_earlier_of_a_delivery_and_a_read_counts(proposal, demo, dave, subscriber):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    read_desired_state(dave, proposal, moment + timedelta(seconds=10))
    # A delivery recorded after the read but stamped earlier (another worker's clock).
    delivered(timing_of(proposal).outbox_event_id, moment + timedelta(seconds=4))
    timing = timing_of(proposal)
    assert (timing.told, timing.told_via) == (timedelta(seconds=4), "webhook")
    # And a later one does not move it.
    assert not rollback_told(
        wedge_id=timing.wedge_id, via="desired_state", now=moment + timedelta(seconds=20)
    )
    assert timing_of(proposal).told == timedelta(seconds=4)


def test_a_delivery_of_another_event_touches_no_timing(proposal, demo, subscriber):
    subscriber.events = ["WDG-102", "RWG-003"]
    subscriber.save()
    started = OutboxEvent.objects.get(proposal_id=proposal.pk, event_code="WDG-102")
    breach(proposal, demo, T0 + timedelta(minutes=5))
    delivered(started.pk, T0 + timedelta(minutes=6))
    assert timing_of(proposal).told_at is None


def test_the_beat_tick_times_a_stored_breach_from_its_arrival(proposal, demo):
    """The snapshot arrived at 10:10; the tick caught it 20 s later."""
    arrived = T0 + timedelta(hours=1, minutes=10)
    wedge = RolloutWedge.objects.get(proposal=proposal)
    wedge.latest_snapshot = MetricSnapshot.objects.create(
        wedge=wedge,
        received_at=arrived,
        values=BREACH,
        stage_index=wedge.current_stage_index,
        reported_by=demo["alice"],
    )
    wedge.save(update_fields=["latest_snapshot"])
    with at(arrived + timedelta(seconds=20)):
        assert rollout.wedges_tick(now=arrived + timedelta(seconds=20)).actions == {"rollback": 1}
    timing = timing_of(proposal)
    assert timing.evidence_at == arrived
    assert timedelta(seconds=20) <= timing.decided < timedelta(seconds=25)


def test_a_polled_breach_is_a_providers_reading(proposal):
    moment = T0 + timedelta(minutes=5)
    with at(moment):
        rollout.wedge_record_snapshot(proposal_id=proposal.pk, metrics=BREACH, actor=None)
    assert timing_of(proposal).evidence_source == "snapshot_polled"


def test_an_operator_rollback_and_an_alert_are_timed_from_their_request(submit, demo):
    by_operator, by_alert = submit("alice"), submit("alice")
    with at(T0):
        for proposal in (by_operator, by_alert):
            rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    moment = T0 + timedelta(minutes=1)
    with at(moment):
        rollout.wedge_rollback(proposal_id=by_operator.pk, actor=demo["dave"], reason="bad")
        rollout.wedge_rollback_on_alert(
            proposal_id=by_alert.pk, actor=demo["dave"], reason="alert", alert={"alertname": "X"}
        )
    assert (timing_of(by_operator).evidence_source, timing_of(by_operator).evidence_at) == (
        "operator",
        moment,
    )
    assert (timing_of(by_alert).evidence_source, timing_of(by_alert).evidence_at) == (
        "alert",
        moment,
    )


def test_the_proposal_page_says_it_in_plain_words(client, proposal, demo, dave):
    moment = T0 + timedelta(minutes=5)
    breach(proposal, demo, moment)
    client.force_login(demo["carol"])
    with at(moment + timedelta(seconds=1)):
        page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "How fast the rollback was" in page
    assert "no deployer has been told yet" in page
    read_desired_state(dave, proposal, moment + timedelta(seconds=75))
    with at(moment + timedelta(seconds=80)):
        page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert (
        "the deployer was told 1 min 15 s after the evidence, by a read of the desired state"
        in (" ".join(page.split()))
    )
    assert "Missed" in page
    assert "snapshot_pushed" not in page
    assert "desired_state" not in page
