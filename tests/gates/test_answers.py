"""The gates' rule for traffic steps, on its own (no database): one step per stage."""

from __future__ import annotations

from gates.answers import WedgeFacts, confirm_promotion, traffic_step
from wedges.hooks import AdvanceHold
from wedges.policy.engine import Action, Decision

STAGES = ("canary", "half", "full")


def facts(state="ACTIVE", stage_index=-1, *, eligible=False, manual=False, hold=None):
    decision = Decision(
        action=Action.NONE,
        reason="the observation window of 1.0h runs until later",
        rule="x",
        target_index=stage_index,
        target_percentage=5.0,
        eligible=eligible,
    )
    return WedgeFacts(
        state=state,
        manual=manual,
        stage_ids=STAGES,
        stage_index=stage_index,
        first_index=-1,
        exposure=5.0,
        decision=decision if state in ("ACTIVE", "PAUSED") else None,
        hold=hold,
    )


def climb(wedge, granted, asks=5):
    """Ask ``asks`` times; the stages granted, in order."""
    steps = []
    for _ in range(asks):
        answer = traffic_step(wedge, granted)
        if answer.grant is not None:
            granted = answer.grant
            steps.append(granted)
    return steps, granted


def test_a_canary_joining_late_catches_up_one_step_per_ask():
    steps, granted = climb(facts(stage_index=1), None)
    assert steps == [-1, 0, 1]
    assert granted == 1


def test_an_eligible_automatic_stage_lets_each_canary_one_stage_ahead_and_no_further():
    steps, _ = climb(facts(stage_index=0, eligible=True), 0)
    assert steps == [1]


def test_a_manual_stage_waits_for_its_approval_even_when_eligible():
    wedge = facts(stage_index=0, eligible=True, manual=True)
    answer = traffic_step(wedge, 0)
    assert not answer.allowed
    assert answer.code == "awaiting_approval"


def test_another_canary_holding_the_wedge_holds_every_step():
    hold = AdvanceHold("canaries_unhealthy", "a canary failed: eu-west-1: test/podinfo")
    answer = traffic_step(facts(stage_index=0, eligible=True, hold=hold), 0)
    assert (answer.allowed, answer.code) == (False, "canaries_unhealthy")
    assert "eu-west-1" in answer.reason


def test_past_the_last_stage_every_step_is_allowed_so_a_longer_ladder_still_promotes():
    last = facts(stage_index=2, eligible=True)
    steps, granted = climb(last, 2, asks=4)
    assert steps == [3]  # promotion
    assert all(traffic_step(last, granted).allowed for _ in range(3))
    assert confirm_promotion(last).allowed


def test_complete_allows_every_step_and_promotion():
    done = facts(state="COMPLETE", stage_index=2)
    assert traffic_step(done, None).allowed
    assert confirm_promotion(done).allowed


def test_the_state_alone_refuses_when_not_running():
    for state, code in (
        ("PENDING", "not_started"),
        ("PAUSED", "paused"),
        ("ROLLED_BACK", "rolled_back"),
    ):
        answer = traffic_step(facts(state=state, stage_index=0), 0)
        assert (answer.allowed, answer.code) == (False, code)
    assert traffic_step(facts(state="ROLLED_BACK", stage_index=0), 0).decision == "rejected"
