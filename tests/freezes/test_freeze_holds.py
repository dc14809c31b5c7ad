"""A change freeze holds starts and advances in its scope, at its edges, and nothing else.

Times are pinned with time-machine: a start one second before the freeze's
start goes through, one at it is refused; the tick holds an eligible stage
until the freeze's end and advances it at that very second.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.codes import EventCode
from audit.models import AuditEvent
from freezes.services import freeze_declare, freeze_end
from tests.documents import PROPOSAL
from waivers.services import waiver_approve, waiver_request
from wedges.errors import RolloutRefused
from wedges.models import RolloutWedge
from wedges.services import rollout, wedge_pause, wedge_rollback, wedge_start, wedges_tick

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


def at(moment):
    return time_machine.travel(moment, tick=False)


def wedge(proposal):
    return RolloutWedge.objects.get(proposal=proposal)


@pytest.fixture
def freeze(demo):
    """Declared by bob (platform lead) at T0 - 1 day, of connector-runtime unless told."""

    def declare(start, end, **scope):
        scope.setdefault("subsystems", ["connector-runtime"])
        return freeze_declare(
            actor=demo["bob"],
            reason="Year-end holiday",
            starts_at=start,
            ends_at=end,
            now=T0 - 24 * HOUR,
            **scope,
        )

    return declare


@pytest.fixture
def proposal(demo, submit):
    with at(T0 - 24 * HOUR):
        return submit("alice")


def start(proposal, demo, moment):
    return wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=moment)


def report(proposal, demo, metrics, moment):
    return rollout.wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=metrics, actor=demo["alice"], now=moment
    )


def test_a_start_one_second_before_the_freeze_goes_through(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR)
    start(proposal, demo, T0 - SECOND)
    assert wedge(proposal).wedge_state == "ACTIVE"


def test_a_start_at_the_freezes_start_is_refused_with_its_end_and_reason(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR)
    with pytest.raises(RolloutRefused) as refused:
        start(proposal, demo, T0)
    assert refused.value.code == "change_freeze"
    assert "Frozen until 11:00 UTC: Year-end holiday" in refused.value.message
    assert wedge(proposal).wedge_state == "PENDING"
    assert not AuditEvent.objects.filter(proposal_id=proposal.pk, code=EventCode.WEDGE_STARTED)


def test_a_start_at_the_freezes_end_goes_through(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR)
    with pytest.raises(RolloutRefused):
        start(proposal, demo, T0 + 2 * HOUR - SECOND)
    start(proposal, demo, T0 + 2 * HOUR)
    assert wedge(proposal).wedge_state == "ACTIVE"


def test_a_freeze_of_another_subsystem_holds_nothing_here(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR, subsystems=["control-plane"])
    start(proposal, demo, T0 + MINUTE)
    assert wedge(proposal).wedge_state == "ACTIVE"


def test_an_organisation_wide_freeze_holds_every_subsystem(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR, subsystems=[], whole_organisation=True)
    with pytest.raises(RolloutRefused):
        start(proposal, demo, T0 + MINUTE)


def test_the_tick_holds_an_eligible_stage_until_the_freezes_end_and_advances_at_it(
    demo, freeze, proposal
):
    start(proposal, demo, T0 - HOUR)  # held at 5 %, window 1 h: eligible at T0
    first = wedge(proposal).current_stage_index
    freeze(T0 - MINUTE, T0 + HOUR)
    outcome = report(proposal, demo, HEALTHY, T0 - 5 * MINUTE)
    assert not outcome.acted
    with at(T0):
        held = wedges_tick()
    assert (held.examined, held.actions) == (1, {})
    # A fresh snapshot just before the end: still held, and the tick keeps reading it.
    assert not report(proposal, demo, HEALTHY, T0 + 55 * MINUTE).acted
    with at(T0 + HOUR - SECOND):
        held = wedges_tick()
    assert (held.examined, held.actions) == (1, {})
    assert wedge(proposal).current_stage_index == first
    with at(T0 + HOUR):
        moved = wedges_tick()
    assert moved.actions == {"advance": 1}
    assert wedge(proposal).current_stage_index == first + 1


def test_ending_a_freeze_early_lets_the_next_tick_advance(demo, freeze, proposal):
    start(proposal, demo, T0 - HOUR)
    held_by = freeze(T0 - MINUTE, T0 + 5 * HOUR)
    report(proposal, demo, HEALTHY, T0 - 5 * MINUTE)
    with at(T0):
        assert wedges_tick().actions == {}
    freeze_end(freeze_id=held_by.pk, actor=demo["bob"], reason="Incident resolved", now=T0 + MINUTE)
    with at(T0 + MINUTE):
        assert wedges_tick().actions == {"advance": 1}
    ended = AuditEvent.objects.get(code=EventCode.FREEZE_ENDED)
    assert ended.data["freeze"] == held_by.pk
    assert ended.reason == "Incident resolved"


def test_an_operators_approval_is_refused_during_a_freeze(demo, freeze, submit):
    with at(T0 - 24 * HOUR):
        manual = submit("alice", rollout_wedge={"increment_policy": "manual"})
    start(manual, demo, T0 - HOUR)
    freeze(T0 - MINUTE, T0 + HOUR)
    report(manual, demo, HEALTHY, T0 - 5 * MINUTE)
    with pytest.raises(RolloutRefused):
        rollout.wedge_approve_advance(proposal_id=manual.pk, actor=demo["dave"], now=T0)
    refused = AuditEvent.objects.get(proposal_id=manual.pk, code=EventCode.ADVANCE_REFUSED)
    assert refused.data["rule"] == "change_freeze"


def test_a_frozen_wedge_still_pauses_and_rolls_back(demo, freeze, proposal, submit):
    start(proposal, demo, T0 - HOUR)
    freeze(T0 - MINUTE, T0 + HOUR)
    outcome = report(proposal, demo, BREACH, T0)
    assert outcome.acted
    assert wedge(proposal).wedge_state == "ROLLED_BACK"
    with at(T0 - 24 * HOUR):
        other = submit("alice")
    start(other, demo, T0 - HOUR)
    wedge_pause(proposal_id=other.pk, actor=demo["dave"], reason="hold", now=T0 + MINUTE)
    wedge_rollback(proposal_id=other.pk, actor=demo["dave"], reason="undo", now=T0 + 2 * MINUTE)
    assert wedge(other).wedge_state == "ROLLED_BACK"


def test_an_active_waiver_lets_a_proposal_through_the_freeze(demo, freeze, submit):
    stage = {**PROPOSAL["rollout_wedge"]["wedge_stages"][0], "target_percentage": 20}
    with at(T0 - 24 * HOUR):
        single = submit("alice", rollout_wedge={"wedge_stages": [stage]})
        waiver = waiver_request(
            requester=demo["alice"], rationale="Security fix", duration_days=7, proposal=single
        )
    with at(T0 - HOUR):
        waiver_approve(waiver=waiver, approver=demo["bob"])
        waiver_approve(waiver=waiver, approver=demo["carol"])
    held_by = freeze(T0, T0 + 2 * HOUR)
    start(single, demo, T0 + MINUTE)
    assert wedge(single).wedge_state == "ACTIVE"
    started = AuditEvent.objects.get(proposal_id=single.pk, code=EventCode.WEDGE_STARTED)
    assert started.data["freeze"] == held_by.pk


def test_a_waiver_of_another_proposal_does_not(demo, freeze, proposal):
    freeze(T0, T0 + 2 * HOUR)
    with pytest.raises(RolloutRefused):
        start(proposal, demo, T0 + MINUTE)
