"""Every gate's answer at the edges of the wedge's states, Flagger's and Argo's alike.

The edges: PENDING, ACTIVE inside its window, one second before and exactly
at the window's end (eligible), a manual stage eligible and then approved,
the last stage, COMPLETE, PAUSED and ROLLED_BACK.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.gates.conftest import BREACH, HEALTHY, T0, WINDOW, snapshot, start, wedge
from wedges.services import rollout

pytestmark = pytest.mark.django_db

GATES = (
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "rollback",
)


def answers(flagger, moment, gates=GATES):
    """{gate: (status, code)} for each gate, asked in order at ``moment``."""
    result = {}
    for gate in gates:
        response = flagger.call(gate, moment)
        body = response.json()
        code = body["code"] if response.status_code == 200 else body["errors"][0]["code"]
        result[gate] = (response.status_code, code)
    return result


def test_pending_holds_every_step(demo, canary_proposal, flagger):
    canary_proposal()
    got = answers(flagger(), T0)
    assert got == {
        "confirm-rollout": (403, "not_started"),
        "pre-rollout": (403, "not_started"),
        "rollout": (403, "not_started"),
        "confirm-traffic-increase": (403, "not_started"),
        "confirm-promotion": (403, "not_started"),
        "rollback": (403, "not_rolled_back"),
    }


def test_active_lets_the_canary_start_and_take_its_first_step_only(demo, canary_proposal, flagger):
    proposal = canary_proposal()
    start(demo, proposal)
    canary = flagger()
    moment = T0 + timedelta(minutes=1)
    assert canary.call("confirm-rollout", moment).status_code == 200
    assert canary.call("pre-rollout", moment).status_code == 200
    first = canary.call("confirm-traffic-increase", moment)
    assert first.status_code == 200, first.json()
    assert first.json()["reason"] == "step up to stage 'initial' allowed"
    second = canary.call("confirm-traffic-increase", moment + timedelta(minutes=1))
    assert second.status_code == 403
    problem = second.json()["errors"][0]
    assert problem["code"] == "not_eligible"
    assert "observation window" in problem["message"]
    assert problem["decision"] == "pending"
    assert problem["wedge_state"] == "ACTIVE"
    assert problem["stage_id"] == "initial"
    assert problem["exposure_percentage"] == 5
    assert canary.call("rollout", moment).status_code == 200
    promotion = canary.call("confirm-promotion", moment)
    assert promotion.status_code == 403
    assert promotion.json()["errors"][0]["code"] == "not_last_stage"
    assert canary.call("rollback", moment).status_code == 403


def long_stages(submit_changes):
    """Stages of 2 h with a 1 h window: eligible an hour before they advance by themselves."""
    stages = submit_changes["rollout_wedge"]["wedge_stages"]
    for stage in stages:
        stage["duration_hours"] = 2
    return submit_changes


@pytest.fixture
def slow_proposal(canary_proposal, proposal_body):
    body = long_stages(proposal_body)
    return canary_proposal(rollout_wedge={"wedge_stages": body["rollout_wedge"]["wedge_stages"]})


def test_the_next_step_waits_for_the_window_to_the_second(demo, slow_proposal, flagger):
    start(demo, slow_proposal)
    canary = flagger()
    assert canary.call("confirm-traffic-increase", T0).status_code == 200  # to initial
    before = T0 + WINDOW - timedelta(seconds=1)
    snapshot(demo, slow_proposal, HEALTHY, before)
    assert canary.call("confirm-traffic-increase", before).status_code == 403
    snapshot(demo, slow_proposal, HEALTHY, T0 + WINDOW)
    eligible = canary.call("confirm-traffic-increase", T0 + WINDOW)
    assert eligible.status_code == 200, eligible.json()
    assert eligible.json()["reason"] == "step up to stage 'canary' allowed"
    # The wedge itself stays at initial until its planned 2 h: one step ahead, no more.
    assert wedge(slow_proposal).current_stage_id == "initial"
    again = canary.call("confirm-traffic-increase", T0 + WINDOW + timedelta(minutes=1))
    assert again.status_code == 403
    assert again.json()["errors"][0]["code"] == "step_taken"
    # When the wedge advances, the canary is where it should be: no second step.
    # (It keeps calling, as Flagger does every interval: a silent canary holds the wedge.)
    canary.call("rollout", T0 + 2 * WINDOW - timedelta(minutes=1))
    snapshot(demo, slow_proposal, HEALTHY, T0 + 2 * WINDOW)
    assert wedge(slow_proposal).current_stage_id == "canary"
    after = canary.call("confirm-traffic-increase", T0 + 2 * WINDOW)
    assert after.status_code == 403
    assert after.json()["errors"][0]["code"] == "not_eligible"


def test_unmet_criteria_keep_the_step_held(demo, slow_proposal, flagger):
    start(demo, slow_proposal)
    canary = flagger()
    canary.call("confirm-traffic-increase", T0)
    snapshot(demo, slow_proposal, {"error_rate": 0.02, "p99": "150ms"}, T0 + WINDOW)
    held = canary.call("confirm-traffic-increase", T0 + WINDOW)
    assert held.status_code == 403
    assert "success criteria not met" in held.json()["errors"][0]["message"]


@pytest.fixture
def manual_proposal(canary_proposal):
    return canary_proposal(rollout_wedge={"increment_policy": "manual"})


def test_manual_eligible_waits_for_approval_then_approved_steps(demo, manual_proposal, flagger):
    start(demo, manual_proposal)
    canary = flagger()
    assert canary.call("confirm-traffic-increase", T0).status_code == 200
    snapshot(demo, manual_proposal, HEALTHY, T0 + WINDOW)
    waiting = canary.call("confirm-traffic-increase", T0 + WINDOW)
    assert waiting.status_code == 403
    assert waiting.json()["errors"][0]["code"] == "awaiting_approval"
    rollout.wedge_approve_advance(
        proposal_id=manual_proposal.pk, actor=demo["dave"], reason="ok", now=T0 + WINDOW
    )
    approved = canary.call("confirm-traffic-increase", T0 + WINDOW + timedelta(seconds=5))
    assert approved.status_code == 200
    assert approved.json()["stage_id"] == "canary"


def drive_to_last_stage(demo, proposal, step=WINDOW, canary=None):
    """Healthy snapshots at each window's end: initial -> canary -> half -> full.

    A bound ``canary`` calls its ``rollout`` hook just before each, as Flagger
    does every interval: a canary silent for longer than the freshness bound
    holds the wedge.
    """
    moment = T0
    for _ in range(3):
        moment += step
        if canary is not None:
            canary.call("rollout", moment - timedelta(minutes=1))
        snapshot(demo, proposal, HEALTHY, moment)
    assert wedge(proposal).current_stage_id == "full"
    return moment


def test_promotion_waits_for_the_last_stage_to_be_eligible(demo, slow_proposal, flagger):
    start(demo, slow_proposal)
    canary = flagger()
    last_opened = drive_to_last_stage(demo, slow_proposal, step=2 * WINDOW, canary=canary)
    inside = last_opened + WINDOW - timedelta(seconds=1)
    snapshot(demo, slow_proposal, HEALTHY, inside)
    assert canary.call("confirm-promotion", inside).json()["errors"][0]["code"] == "not_eligible"
    snapshot(demo, slow_proposal, HEALTHY, last_opened + WINDOW)
    promote = canary.call("confirm-promotion", last_opened + WINDOW)
    assert promote.status_code == 200, promote.json()
    assert promote.json()["reason"] == "the last stage 'full' is eligible"
    # Flagger asks the traffic gate at its maximum weight too, before promoting.
    for minute in (1, 2, 3, 4, 5, 6):
        step = canary.call(
            "confirm-traffic-increase", last_opened + WINDOW + timedelta(minutes=minute)
        )
        assert step.status_code == 200


def test_manual_last_stage_promotes_only_once_approved(demo, manual_proposal, flagger):
    start(demo, manual_proposal)
    canary = flagger()
    moment = T0
    for _ in range(3):
        moment += WINDOW
        snapshot(demo, manual_proposal, HEALTHY, moment)
        rollout.wedge_approve_advance(
            proposal_id=manual_proposal.pk, actor=demo["dave"], reason="ok", now=moment
        )
    assert wedge(manual_proposal).current_stage_id == "full"
    moment += WINDOW
    snapshot(demo, manual_proposal, HEALTHY, moment)
    held = canary.call("confirm-promotion", moment)
    assert held.json()["errors"][0]["code"] == "awaiting_approval"
    rollout.wedge_approve_advance(
        proposal_id=manual_proposal.pk, actor=demo["dave"], reason="ship", now=moment
    )
    assert wedge(manual_proposal).wedge_state == "COMPLETE"
    assert canary.call("confirm-promotion", moment + timedelta(seconds=1)).status_code == 200


def test_complete(demo, canary_proposal, flagger):
    proposal = canary_proposal()
    start(demo, proposal)
    moment = drive_to_last_stage(demo, proposal) + WINDOW
    snapshot(demo, proposal, HEALTHY, moment)
    assert wedge(proposal).wedge_state == "COMPLETE"
    assert answers(flagger(), moment) == {
        "confirm-rollout": (403, "complete"),
        "pre-rollout": (200, "allowed"),
        "rollout": (200, "allowed"),
        "confirm-traffic-increase": (200, "allowed"),
        "confirm-promotion": (200, "allowed"),
        "rollback": (403, "not_rolled_back"),
    }


def test_paused(demo, canary_proposal, flagger):
    proposal = canary_proposal()
    start(demo, proposal)
    rollout.wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold", now=T0)
    assert answers(flagger(), T0 + timedelta(minutes=1)) == {
        "confirm-rollout": (403, "paused"),
        "pre-rollout": (200, "allowed"),
        "rollout": (200, "allowed"),
        "confirm-traffic-increase": (403, "paused"),
        "confirm-promotion": (403, "paused"),
        "rollback": (403, "not_rolled_back"),
    }


def test_rolled_back(demo, canary_proposal, flagger):
    proposal = canary_proposal()
    start(demo, proposal)
    snapshot(demo, proposal, BREACH, T0 + timedelta(minutes=5))
    assert wedge(proposal).wedge_state == "ROLLED_BACK"
    canary = flagger()
    assert answers(canary, T0 + timedelta(minutes=6)) == {
        "confirm-rollout": (403, "rolled_back"),
        "pre-rollout": (403, "rolled_back"),
        "rollout": (403, "rolled_back"),
        "confirm-traffic-increase": (403, "rolled_back"),
        "confirm-promotion": (403, "rolled_back"),
        "rollback": (200, "rolled_back"),
    }
    rollback = canary.call("rollback", T0 + timedelta(minutes=7)).json()
    assert rollback["decision"] == "rejected"
    assert "rollback trigger" in rollback["reason"]
    held = canary.call("confirm-rollout", T0 + timedelta(minutes=7)).json()["errors"][0]
    assert held["decision"] == "rejected"
