"""The beat tick reads only wedges that are due: at their stored moments, not a second before.

Each wedge stores ``pause_at`` (3 x the window after its stage opened) and
``due_at`` (the first moment the engine could move it on time alone), computed
again by every snapshot that does not move it; the tick reads a wedge once
``due_at`` has passed, or once it has evidence newer than ``due_at`` knows of,
and stores the next ``due_at`` of every wedge it read but left alone. These
tests pin the edges with time-machine: a second before each stored moment
nothing is read, at it the wedge moves.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wedges.models import RolloutWedge
from wedges.services import rollout, wedge_pause, wedge_resume, wedge_start, wedges_tick

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
UNMET = {"error_rate": 0.02, "p99": "150ms"}  # criteria unmet, trigger quiet


def at(moment):
    return time_machine.travel(moment, tick=False)


def tick(moment):
    with at(moment):
        return wedges_tick()


def wedge(proposal):
    return RolloutWedge.objects.get(proposal=proposal)


@pytest.fixture
def started(demo, submit):
    """Started at T0: 5 % hold, window 1 h, stage durations 1 h, no snapshot yet."""

    def make(**wedge_changes):
        proposal = submit("alice", rollout_wedge=wedge_changes)
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
        return proposal

    return make


@pytest.fixture
def report(demo):
    def send(proposal, metrics, moment):
        return rollout.wedge_record_snapshot(
            proposal_id=proposal.pk, metrics=metrics, actor=demo["alice"], now=moment
        )

    return send


def test_a_started_wedge_stores_its_pause_moment_as_due(started):
    stored = wedge(started())
    assert stored.pause_at == T0 + 3 * HOUR
    assert stored.due_at == T0 + 3 * HOUR  # no evidence: only the pause can move it


def test_without_evidence_nothing_is_read_until_the_pause(started):
    proposal = started()
    for moment in (T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR - SECOND):
        report_ = tick(moment)
        assert (report_.examined, report_.actions) == (0, {}), moment
    report_ = tick(T0 + 3 * HOUR)
    assert (report_.examined, report_.actions) == (1, {"pause": 1})
    assert wedge(proposal).wedge_state == "PAUSED"
    assert wedge(proposal).due_at is None
    assert tick(T0 + 10 * HOUR).examined == 0


def test_new_evidence_is_read_once_the_window_has_ended(started, report):
    proposal = started()
    report(proposal, HEALTHY, T0 + timedelta(minutes=50))
    assert tick(T0 + HOUR - SECOND).examined == 0  # inside the window: nothing can move
    report_ = tick(T0 + HOUR)
    assert (report_.examined, report_.actions) == (1, {"advance": 1})
    moved = wedge(proposal)
    assert moved.current_stage_index == 0
    assert moved.stage_opened_at == T0 + HOUR
    assert moved.pause_at == T0 + 4 * HOUR


def test_unmet_criteria_store_the_pause_moment_on_arrival(started, report):
    proposal = started()
    report(proposal, UNMET, T0 + timedelta(minutes=90))
    stored = wedge(proposal)
    assert stored.due_at == T0 + 3 * HOUR
    assert stored.due_snapshot_id == stored.latest_snapshot_id
    assert tick(T0 + timedelta(minutes=91)).examined == 0
    assert tick(T0 + 3 * HOUR - SECOND).examined == 0
    assert tick(T0 + 3 * HOUR).actions == {"pause": 1}


def test_newer_evidence_moves_the_due_moment(started, report, settings):
    settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS = 3600
    proposal = started(wedge_stages=_durations(2))  # advance needs 2 h
    report(proposal, UNMET, T0 + timedelta(minutes=70))
    assert wedge(proposal).due_at == T0 + 3 * HOUR
    # Healthy, but the stage's 2 h have not passed: the snapshot does not move it,
    # and stores that it is due when the 2 h end.
    assert not report(proposal, HEALTHY, T0 + timedelta(minutes=100)).acted
    assert wedge(proposal).due_at == T0 + 2 * HOUR
    assert tick(T0 + timedelta(minutes=101)).examined == 0
    assert tick(T0 + 2 * HOUR - SECOND).examined == 0
    assert tick(T0 + 2 * HOUR).actions == {"advance": 1}


def test_evidence_that_goes_stale_before_the_duration_waits_for_the_pause(
    started, report, settings
):
    settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS = 600
    proposal = started(wedge_stages=_durations(2))  # advance needs 2 h
    report(proposal, HEALTHY, T0 + timedelta(minutes=70))  # stale at 1 h 20 min
    assert wedge(proposal).due_at == T0 + 3 * HOUR


def test_healthy_evidence_is_due_exactly_when_the_duration_ends(started, report, settings):
    settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS = 3600
    proposal = started(wedge_stages=_durations(2))
    report(proposal, HEALTHY, T0 + timedelta(minutes=100))
    assert wedge(proposal).due_at == T0 + 2 * HOUR
    assert tick(T0 + 2 * HOUR - SECOND).examined == 0
    assert tick(T0 + 2 * HOUR).actions == {"advance": 1}


def test_evidence_the_due_moment_does_not_know_of_is_read_once_the_window_has_ended(
    started, report
):
    """A snapshot stored without a due moment (written before snapshots stored one)."""
    proposal = started()
    report(proposal, UNMET, T0 + timedelta(minutes=30))
    RolloutWedge.objects.filter(proposal=proposal).update(due_snapshot_id=0)
    assert tick(T0 + HOUR - SECOND).examined == 0  # inside the window: nothing can move
    assert tick(T0 + HOUR).examined == 1
    stored = wedge(proposal)
    assert (stored.due_at, stored.due_snapshot_id) == (T0 + 3 * HOUR, stored.latest_snapshot_id)
    assert tick(T0 + HOUR + SECOND).examined == 0


def test_an_eligible_manual_stage_pauses_a_microsecond_after_its_evidence_goes_stale(
    started, report, settings
):
    settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS = 600
    proposal = started(increment_policy="manual")
    received = T0 + 3 * HOUR - timedelta(minutes=5)
    report(proposal, HEALTHY, received)  # eligible: awaits an operator, does not pause
    assert tick(received + SECOND).actions == {}
    stale = received + timedelta(minutes=10)
    assert wedge(proposal).due_at == stale + timedelta(microseconds=1)
    assert tick(stale).examined == 0
    assert tick(stale + SECOND).actions == {"pause": 1}


def test_resume_stores_a_fresh_pause_moment(demo, started):
    proposal = started()
    wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold", now=T0 + HOUR)
    assert wedge(proposal).due_at is None
    resumed = T0 + 5 * HOUR
    wedge_resume(proposal_id=proposal.pk, actor=demo["dave"], reason="go", now=resumed)
    stored = wedge(proposal)
    assert (stored.pause_at, stored.due_at) == (resumed + 3 * HOUR, resumed + 3 * HOUR)
    assert tick(resumed + 3 * HOUR - SECOND).examined == 0
    assert tick(resumed + 3 * HOUR).actions == {"pause": 1}


def test_what_a_tick_stores_never_overwrites_a_later_move(demo, started, report):
    """A tick that read a wedge before it moved stores nothing over the move's due time."""
    proposal = started()
    report(proposal, UNMET, T0 + timedelta(minutes=90))
    with at(T0 + timedelta(minutes=91)):
        read = rollout._locked(proposal.pk)  # what a tick read, before...
        wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold")
        wedge_resume(proposal_id=proposal.pk, actor=demo["dave"], reason="go")  # ...a move
        waiting: list[rollout._Due] = []
        assert rollout._tick_one(read, T0 + timedelta(minutes=91), waiting) is None
        rollout._remember_due(waiting)
    stored = wedge(proposal)
    assert stored.due_at == T0 + timedelta(minutes=91) + 3 * HOUR  # the resume's, kept


def test_a_tick_with_many_waiting_wedges_costs_one_query(started):
    for _ in range(5):
        started()
    with CaptureQueriesContext(connection) as queries, at(T0 + 2 * HOUR):
        report_ = wedges_tick()
    assert (report_.examined, len(queries)) == (0, 1)


def test_wedges_read_but_left_alone_cost_three_queries(started, report):
    proposals = [started() for _ in range(5)]
    for proposal in proposals:
        report(proposal, UNMET, T0 + timedelta(minutes=90))
    # Evidence their due moments do not know of: the tick must read them.
    RolloutWedge.objects.filter(proposal__in=proposals).update(due_snapshot_id=0)
    with CaptureQueriesContext(connection) as queries, at(T0 + timedelta(minutes=91)):
        report_ = wedges_tick()
    # The due wedges with their snapshots, their stages, one update of their due times.
    assert (report_.examined, report_.actions, len(queries)) == (5, {}, 3)
    assert {wedge(p).due_at for p in proposals} == {T0 + 3 * HOUR}


def test_a_wedge_the_tick_moves_has_its_stages_read_once(started, report):
    proposals = [started() for _ in range(2)]
    for proposal in proposals:
        report(proposal, HEALTHY, T0 + timedelta(minutes=59))
    with CaptureQueriesContext(connection) as queries, at(T0 + HOUR):
        report_ = wedges_tick()
    assert report_.actions == {"advance": 2}
    # With the batch that found them due; not again under each wedge's lock.
    stage_reads = [q for q in queries if 'FROM "wedges_wedgestage"' in q["sql"]]
    assert len(stage_reads) == 1


def test_a_plan_is_taken_only_from_the_same_wedge(started):
    first, second = (wedge(started()) for _ in range(2))
    with pytest.raises(ValueError, match="is not wedge"):
        first.with_plan_of(second)


def _durations(hours):
    from tests.documents import PROPOSAL

    return [
        {**stage, "duration_hours": hours} for stage in PROPOSAL["rollout_wedge"]["wedge_stages"]
    ]
