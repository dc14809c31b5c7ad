"""Snapshot retention: old snapshots go, in batches; the latest of each wedge and the audit
trail's copies of decision snapshots stay."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.models import AuditEvent
from config.celery import app, beat_schedule
from wedges.models import MetricSnapshot, RolloutWedge
from wedges.services import snapshots_prune, wedge_record_snapshot, wedge_start
from wedges.tasks import prune_snapshots

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


@pytest.fixture
def running(demo, submit):
    def make():
        proposal = submit("alice")
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
        return proposal

    return make


def report(demo, proposal, metrics, moment):
    return wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=metrics, actor=demo["alice"], now=moment
    )


def received(proposal):
    return sorted(
        MetricSnapshot.objects.filter(wedge__proposal=proposal).values_list(
            "received_at", flat=True
        )
    )


def test_snapshots_older_than_the_retention_are_pruned(demo, running, settings):
    settings.WEDGE_SNAPSHOT_RETENTION_DAYS = 30
    proposal = running()
    moments = [T0 + timedelta(minutes=n) for n in (1, 2, 3)]  # inside the window: no move
    for moment in moments:
        report(demo, proposal, {"error_rate": 0.02, "p99": "150ms"}, moment)
    # 30 days after the second one: the first goes, the second is exactly at the bound.
    report_ = snapshots_prune(now=moments[1] + 30 * DAY)
    assert report_.deleted == 1
    assert received(proposal) == moments[1:]
    report_ = snapshots_prune(now=moments[1] + 30 * DAY + timedelta(microseconds=1))
    assert report_.deleted == 1
    assert received(proposal) == moments[2:]


def test_the_latest_snapshot_of_every_wedge_is_kept(demo, running):
    running_one, finished = running(), running()
    report(demo, running_one, HEALTHY, T0 + timedelta(minutes=5))
    report(demo, finished, BREACH, T0 + timedelta(minutes=5))  # rolled back on it
    assert RolloutWedge.objects.get(proposal=finished).wedge_state == "ROLLED_BACK"
    assert snapshots_prune(now=T0 + 365 * DAY).deleted == 0
    for proposal in (running_one, finished):
        wedge = RolloutWedge.objects.get(proposal=proposal)
        assert wedge.latest_snapshot is not None


def test_the_audit_trail_keeps_its_copy_of_a_pruned_decision_snapshot(demo, running):
    proposal = running()
    report(demo, proposal, HEALTHY, T0 + timedelta(hours=1))  # advances on it (RWG-001)
    report(demo, proposal, {"error_rate": 0.02, "p99": "150ms"}, T0 + timedelta(hours=2))
    assert snapshots_prune(now=T0 + timedelta(hours=1, seconds=1) + 30 * DAY).deleted == 1
    advanced = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-001")
    assert advanced.metrics == HEALTHY
    assert {c["met"] for c in advanced.data["criteria"]} == {True}


def test_pruning_goes_in_batches(demo, running):
    proposal = running()
    for minute in range(7):
        report(demo, proposal, {"error_rate": 0.02, "p99": "150ms"}, T0 + timedelta(minutes=minute))
    report_ = snapshots_prune(now=T0 + 60 * DAY, batch_size=2)
    # 6 old ones (the 7th is the latest): 2 + 2 + 2, then an empty batch ends it.
    assert (report_.deleted, report_.batches, report_.finished) == (6, 4, True)
    assert len(received(proposal)) == 1


def test_a_run_stops_when_its_time_budget_is_spent(demo, running):
    proposal = running()
    for minute in range(5):
        report(demo, proposal, {"error_rate": 0.02, "p99": "150ms"}, T0 + timedelta(minutes=minute))
    report_ = snapshots_prune(now=T0 + 60 * DAY, batch_size=1, time_budget=0)
    assert (report_.deleted, report_.batches, report_.finished) == (1, 1, False)


def test_beat_prunes_on_its_own_schedule(demo, running, settings):
    proposal = running()
    for minute in range(3):
        report(demo, proposal, {"error_rate": 0.02, "p99": "150ms"}, T0 + timedelta(minutes=minute))
    schedule = beat_schedule(settings)["snapshot-retention"]
    assert schedule["task"] == "wedges.tasks.prune_snapshots"
    assert schedule["task"] in app.tasks
    with time_machine.travel(T0 + 31 * DAY, tick=False):
        assert prune_snapshots() == {"deleted": 2, "batches": 1, "finished": True}
