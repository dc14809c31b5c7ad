"""The engine's decisions at their time edges (docs/policy.md, "The rollout engine")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from wedges.policy import codes
from wedges.policy.engine import (
    Action,
    Decision,
    Snapshot,
    StageView,
    WedgeView,
    current_stage_id,
    decide,
    exposure_for,
    gating_stage,
    held_exposure,
    initial_stage_index,
    window_ends_at,
)
from wedges.policy.expressions import ExpressionError

MakeView = Callable[..., WedgeView]
MakeSnapshot = Callable[..., Snapshot]
FRESH = timedelta(minutes=15)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def one_hour_stages(make_document: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Document overrides giving every stage a 1h duration (equal to the window)."""
    stages = make_document()["wedge_stages"]
    for stage in stages:
        stage["duration_hours"] = 1
    return {"wedge_stages": stages}


@pytest.fixture
def view(make_view: MakeView) -> WedgeView:
    """ACTIVE at stage 0 ('canary', 10%), opened at NOW, 1h window, 2h durations."""
    return make_view(stage_index=0)


def paused(view: WedgeView) -> WedgeView:
    return dataclasses.replace(view, state="PAUSED")


def at(
    view: WedgeView,
    now: datetime,
    snapshot: Snapshot | None,
    *,
    approval: bool = False,
    freshness: timedelta = FRESH,
) -> Decision:
    return decide(view, snapshot, now, freshness=freshness, operator_approval=approval)


# --- Not running ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["PENDING", "ROLLED_BACK", "COMPLETE"])
def test_only_running_wedges_get_decisions(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime, state: str
) -> None:
    view = make_view(state=state, stage_index=0)
    decision = at(view, now + 5 * HOUR, make_snapshot(now + 5 * HOUR, error_rate=0.9))
    assert decision.action is Action.NONE
    assert decision.rule == codes.RULE_NOT_RUNNING
    assert decision.event_code is None


# --- The observation window (INV-RWG-OBSERVE) -------------------------------------------------


def test_window_minus_one_second_does_not_advance(
    make_view: MakeView,
    make_snapshot: MakeSnapshot,
    now: datetime,
    one_hour_stages: dict[str, Any],
) -> None:
    view = make_view(stage_index=0, document=one_hour_stages)
    moment = now + HOUR - SECOND
    decision = at(view, moment, make_snapshot(moment))
    assert decision.action is Action.NONE
    assert decision.rule == codes.RULE_OBSERVE
    assert not decision.eligible
    assert decision.eligible_at == now + HOUR
    assert all(result.met for result in decision.criteria)  # only the window blocks


def test_exactly_at_the_window_advances(
    make_view: MakeView,
    make_snapshot: MakeSnapshot,
    now: datetime,
    one_hour_stages: dict[str, Any],
) -> None:
    view = make_view(stage_index=0, document=one_hour_stages)
    decision = at(view, now + HOUR, make_snapshot(now + HOUR))
    assert decision.action is Action.ADVANCE
    assert decision.rule == codes.RULE_STAGED
    assert decision.event_code == codes.EVENT_ADVANCED
    assert decision.eligible
    assert (decision.target_index, decision.target_percentage) == (1, 40)


def test_window_passed_but_planned_duration_not(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    moment = now + 2 * HOUR - SECOND  # window 1h passed, duration 2h not
    decision = at(view, moment, make_snapshot(moment))
    assert decision.action is Action.NONE
    assert decision.rule == codes.RULE_DURATION_PENDING
    assert decision.eligible
    moment = now + 2 * HOUR
    assert at(view, moment, make_snapshot(moment)).action is Action.ADVANCE


def test_window_longer_than_duration_still_governs(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=0, document={"observation_window_hours": 3})
    moment = now + 3 * HOUR - SECOND  # duration 2h passed, window 3h not
    assert at(view, moment, make_snapshot(moment)).rule == codes.RULE_OBSERVE
    assert at(view, now + 3 * HOUR, make_snapshot(now + 3 * HOUR)).action is Action.ADVANCE


# --- Snapshots: missing, stale, from an earlier stage -----------------------------------------


def test_no_snapshot(view: WedgeView, now: datetime) -> None:
    decision = at(view, now + 2 * HOUR, None)
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_NO_SNAPSHOT)
    assert not any(result.met for result in decision.criteria)


def test_stale_snapshot_is_ignored(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    moment = now + 2 * HOUR
    decision = at(view, moment, make_snapshot(moment - FRESH - SECOND))
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_STALE_SNAPSHOT)
    assert not decision.eligible
    # Exactly at the freshness bound is still fresh.
    assert at(view, moment, make_snapshot(moment - FRESH)).action is Action.ADVANCE


def test_snapshot_from_before_the_stage_is_ignored(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    moment = now + 2 * HOUR
    decision = at(view, moment, make_snapshot(now - SECOND), freshness=10 * HOUR)
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_SNAPSHOT_BEFORE_STAGE)
    assert decision.criteria
    assert not any(result.met for result in decision.criteria)
    # Received exactly when the stage opened counts as during the stage.
    assert at(view, moment, make_snapshot(now), freshness=10 * HOUR).action is Action.ADVANCE


@pytest.mark.parametrize(
    ("values", "unmet"),
    [
        ({"error_rate": 0.01}, ["error_rate < 0.01"]),
        ({"p99": "201ms"}, ["p99 <= 200ms"]),
        ({"p99": "0.3s", "error_rate": "0.02"}, ["error_rate < 0.01", "p99 <= 200ms"]),
        ({"p99": None}, ["p99 <= 200ms"]),  # a missing metric leaves a criterion unmet
    ],
)
def test_unmet_criteria_block_advance(
    view: WedgeView,
    make_snapshot: MakeSnapshot,
    now: datetime,
    values: dict[str, object],
    unmet: list[str],
) -> None:
    moment = now + 2 * HOUR
    decision = at(view, moment, make_snapshot(moment, **values))
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_CRITERIA_UNMET)
    assert [result.expression for result in decision.criteria if not result.met] == unmet
    assert all(expression in decision.reason for expression in unmet)


def test_criteria_results_show_the_values_used(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    decision = at(view, now + 2 * HOUR, make_snapshot(now + 2 * HOUR, p99="180ms"))
    assert [(result.expression, result.met) for result in decision.criteria] == [
        ("error_rate < 0.01", True),
        ("p99 <= 200ms", True),
    ]
    assert decision.criteria[1].values_dict() == {"p99": "180ms"}
    assert decision.trigger is not None
    assert not decision.trigger.met
    assert decision.trigger.values_dict() == {"error_rate": 0.001, "p99": "180ms"}


# --- The 3x pause (RWG-002) -------------------------------------------------------------------


def test_pause_exactly_at_three_windows(view: WedgeView, now: datetime) -> None:
    before = at(view, now + 3 * HOUR - SECOND, None)
    assert before.action is Action.NONE
    decision = at(view, now + 3 * HOUR, None)
    assert decision.action is Action.PAUSE
    assert decision.rule == codes.RULE_PAUSE_3X
    assert decision.event_code == codes.EVENT_PAUSED
    assert (decision.target_index, decision.target_percentage) == (0, 10)
    assert "no metric snapshot" in decision.reason


def test_unmet_criteria_pause_after_three_windows(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    moment = now + 3 * HOUR
    decision = at(view, moment, make_snapshot(moment, error_rate=0.02))
    assert decision.action is Action.PAUSE


def test_eligible_stage_waiting_for_its_duration_is_not_paused(
    make_view: MakeView,
    make_snapshot: MakeSnapshot,
    now: datetime,
    one_hour_stages: dict[str, Any],
) -> None:
    document = one_hour_stages
    document["wedge_stages"][0]["duration_hours"] = 5
    view = make_view(stage_index=0, document=document)
    moment = now + 4 * HOUR
    decision = at(view, moment, make_snapshot(moment))
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_DURATION_PENDING)


def test_manual_stage_waiting_for_approval_is_not_paused(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=0, document={"increment_policy": "manual"})
    moment = now + 10 * HOUR
    decision = at(view, moment, make_snapshot(moment))
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_AWAITING_APPROVAL)


# --- Manual wedges and operator approval ------------------------------------------------------


def test_manual_wedge_needs_approval(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=0, document={"increment_policy": "manual"})
    moment = now + 2 * HOUR
    waiting = at(view, moment, make_snapshot(moment))
    assert (waiting.action, waiting.rule, waiting.eligible) == (
        Action.NONE,
        codes.RULE_AWAITING_APPROVAL,
        True,
    )
    approved = at(view, moment, make_snapshot(moment), approval=True)
    assert approved.action is Action.ADVANCE
    assert approved.target_index == 1


def test_approval_never_overrides_the_window_or_the_criteria(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=0, document={"increment_policy": "manual"})
    early = now + HOUR - SECOND
    assert at(view, early, make_snapshot(early), approval=True).rule == codes.RULE_OBSERVE
    late = now + 2 * HOUR
    failing = make_snapshot(late, error_rate=0.02)
    assert at(view, late, failing, approval=True).rule == codes.RULE_CRITERIA_UNMET


def test_approval_advances_an_automatic_wedge_before_its_duration(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    moment = now + HOUR  # window passed, 2h duration not
    assert at(view, moment, make_snapshot(moment)).rule == codes.RULE_DURATION_PENDING
    assert at(view, moment, make_snapshot(moment), approval=True).action is Action.ADVANCE


# --- The implicit initial hold ----------------------------------------------------------------


def test_implicit_initial_hold(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    pending = make_view(state="PENDING", stage_index=0, stage_opened_at=None)
    assert initial_stage_index(pending) == -1
    view = make_view(stage_index=-1)  # started: ACTIVE at the hold, opened now
    assert current_stage_id(view) == "initial"
    assert exposure_for(view, -1) == 1
    assert held_exposure(view, -1) == 1
    assert gating_stage(view) is view.stages[0]
    # Gated by stage 1's criteria and its 2h planned duration.
    one_hour = at(view, now + HOUR, make_snapshot(now + HOUR))
    assert one_hour.rule == codes.RULE_DURATION_PENDING
    failing = at(view, now + 2 * HOUR, make_snapshot(now + 2 * HOUR, p99="250ms"))
    assert failing.rule == codes.RULE_CRITERIA_UNMET
    decision = at(view, now + 2 * HOUR, make_snapshot(now + 2 * HOUR))
    assert (decision.action, decision.target_index, decision.target_percentage) == (
        Action.ADVANCE,
        0,
        10,
    )
    advanced = dataclasses.replace(view, stage_index=0, stage_opened_at=now + 2 * HOUR)
    assert current_stage_id(advanced) == "canary"


def test_no_implicit_hold_when_initial_equals_the_first_target(make_view: MakeView) -> None:
    pending = make_view(
        state="PENDING", stage_index=0, stage_opened_at=None, document={"initial_percentage": 10}
    )
    assert initial_stage_index(pending) == 0
    assert held_exposure(pending, 0) == 10


def test_implicit_hold_rollback_uses_stage_one_trigger(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=-1)
    decision = at(view, now + SECOND, make_snapshot(now + SECOND, p99="501ms"))
    assert (decision.action, decision.rule) == (Action.ROLLBACK, codes.RULE_ROLLBACK)


# --- Rollback (RWG-003) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values", [{"error_rate": 0.06}, {"p99": "0.6s"}, {"error_rate": "0.051", "p99": 10}]
)
def test_rollback_trigger_fires_at_once(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime, values: dict[str, object]
) -> None:
    moment = now + 10 * SECOND  # long before the window: triggers do not wait
    decision = at(view, moment, make_snapshot(moment, **values))
    assert decision.action is Action.ROLLBACK
    assert decision.rule == codes.RULE_ROLLBACK
    assert decision.event_code == codes.EVENT_ROLLED_BACK
    assert (decision.target_index, decision.target_percentage) == (None, 0.0)
    assert decision.trigger is not None
    assert decision.trigger.met


def test_trigger_at_its_threshold_does_not_fire(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    decision = at(view, now + SECOND, make_snapshot(now + SECOND, error_rate=0.05, p99="500ms"))
    assert decision.action is Action.NONE


def test_trigger_with_missing_metric_does_not_fire(view: WedgeView, now: datetime) -> None:
    decision = at(view, now + SECOND, Snapshot({"unrelated": 1}, now + SECOND))
    assert decision.action is Action.NONE


def test_breach_observed_during_the_stage_rolls_back_even_when_stale(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    snapshot = make_snapshot(now + SECOND, error_rate=0.5)
    assert at(view, now + 5 * HOUR, snapshot).action is Action.ROLLBACK


def test_breach_from_before_the_stage_is_ignored(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    snapshot = make_snapshot(now - SECOND, error_rate=0.5)
    assert at(view, now + SECOND, snapshot).action is Action.NONE


def test_rollback_beats_advancing(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    # Eligible by window and criteria, but the deployer reports too much exposure.
    moment = now + 2 * HOUR
    decision = at(view, moment, make_snapshot(moment, exposure_percentage=100.5))
    assert all(result.met for result in decision.criteria)
    assert (decision.action, decision.rule) == (Action.ROLLBACK, codes.RULE_BLAST)


def test_paused_wedge_rolls_back_on_a_trigger(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    decision = at(paused(view), now + SECOND, make_snapshot(now + SECOND, error_rate=0.2))
    assert (decision.action, decision.target_percentage) == (Action.ROLLBACK, 0)


# --- Blast radius (INV-RWG-BLAST) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("exposure", "action"),
    [
        (100, Action.NONE),
        ("100%", Action.NONE),
        (100.01, Action.ROLLBACK),
        ("101%", Action.ROLLBACK),
    ],
)
def test_reported_exposure_above_the_blast_radius_rolls_back(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime, exposure: object, action: Action
) -> None:
    decision = at(view, now + SECOND, make_snapshot(now + SECOND, exposure_percentage=exposure))
    assert decision.action is action
    if action is Action.ROLLBACK:
        assert decision.rule == codes.RULE_BLAST


def test_smaller_blast_radius(view: WedgeView, make_snapshot: MakeSnapshot, now: datetime) -> None:
    narrow = dataclasses.replace(view, max_blast_radius=40)
    snapshot = make_snapshot(now + SECOND, exposure_percentage="40.5")
    assert at(narrow, now + SECOND, snapshot).rule == codes.RULE_BLAST


def test_unreadable_exposure_is_ignored(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    for exposure in ("lots", "200ms", None, True):
        snapshot = make_snapshot(now + SECOND, exposure_percentage=exposure)
        assert at(view, now + SECOND, snapshot).action is Action.NONE


def test_never_advances_past_the_blast_radius(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    # Impossible for a validated wedge: the next stage's 40% is above a 30% radius.
    narrow = dataclasses.replace(view, max_blast_radius=30)
    moment = now + 2 * HOUR
    decision = at(narrow, moment, make_snapshot(moment), approval=True)
    assert (decision.action, decision.rule, decision.eligible) == (
        Action.NONE,
        codes.RULE_BLAST,
        True,
    )
    assert decision.target_percentage == 10


def test_current_stage_above_the_blast_radius_rolls_back(view: WedgeView, now: datetime) -> None:
    narrow = dataclasses.replace(view, max_blast_radius=5)
    decision = at(narrow, now + SECOND, None)
    assert (decision.action, decision.rule) == (Action.ROLLBACK, codes.RULE_BLAST)


# --- Paused and completing wedges -------------------------------------------------------------


def test_paused_wedge_never_advances_or_pauses(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    for hours in (2, 3, 30):
        moment = now + hours * HOUR
        decision = at(paused(view), moment, make_snapshot(moment), approval=True)
        assert (decision.action, decision.rule, decision.eligible) == (
            Action.NONE,
            codes.RULE_PAUSED,
            False,
        )


def test_resume_reopens_the_stage_with_a_fresh_window(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    resumed_at = now + 5 * HOUR
    resumed = dataclasses.replace(view, stage_opened_at=resumed_at)  # ACTIVE again, reopened
    moment = resumed_at + HOUR - SECOND
    assert at(resumed, moment, make_snapshot(moment)).rule == codes.RULE_OBSERVE
    # A snapshot from while it was paused does not count for the reopened stage.
    old = make_snapshot(resumed_at - SECOND)
    assert at(resumed, resumed_at + 2 * HOUR, old).rule == codes.RULE_SNAPSHOT_BEFORE_STAGE


def test_last_stage_completes(
    make_view: MakeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    view = make_view(stage_index=3)
    moment = now + 2 * HOUR
    decision = at(view, moment, make_snapshot(moment))
    assert decision.action is Action.COMPLETE
    assert decision.event_code == codes.EVENT_COMPLETED
    assert (decision.target_index, decision.target_percentage) == (None, 100)


# --- When a stage may advance next --------------------------------------------------------------


def test_an_automatic_stage_may_advance_when_window_and_duration_have_passed(
    view: WedgeView, now: datetime
) -> None:
    # 1h window, 2h planned duration: the later of the two.
    assert at(view, now, None).advance_at == now + 2 * HOUR
    short = dataclasses.replace(view, observation_window_hours=3)
    assert at(short, now, None).advance_at == now + 3 * HOUR


def test_a_manual_stage_may_advance_when_its_window_ends(view: WedgeView, now: datetime) -> None:
    manual = dataclasses.replace(view, increment_policy="manual")
    decision = at(manual, now, None)
    # Not its 2h planned duration: an operator may approve from the window's end.
    assert decision.advance_at == now + HOUR == decision.eligible_at


def test_a_paused_stage_advances_never_until_resumed(view: WedgeView, now: datetime) -> None:
    assert at(paused(view), now, None).advance_at is None


def test_a_rolling_back_stage_still_says_when_it_could_have_advanced(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    decision = at(view, now + SECOND, make_snapshot(now + SECOND, error_rate=0.2))
    assert (decision.action, decision.advance_at) == (Action.ROLLBACK, now + 2 * HOUR)


def test_advancing_past_the_calendar_is_never(view: WedgeView, now: datetime) -> None:
    endless = dataclasses.replace(
        view,
        stages=tuple(dataclasses.replace(stage, duration_hours=1e300) for stage in view.stages),
    )
    assert at(endless, now, None).advance_at is None
    manual = dataclasses.replace(endless, increment_policy="manual")
    assert at(manual, now, None).advance_at == now + HOUR


def test_window_ends_saturate(now: datetime) -> None:
    assert window_ends_at(now, 1.5) == now + timedelta(minutes=90)
    assert window_ends_at(now, 1e300) is None
    assert window_ends_at(now, float("nan")) is None


def test_a_stage_above_the_blast_radius_is_held_at_it(view: WedgeView) -> None:
    narrow = dataclasses.replace(view, max_blast_radius=30)
    assert (held_exposure(narrow, 0), held_exposure(narrow, 1)) == (10, 30)


# --- Guards -----------------------------------------------------------------------------------


def test_negative_freshness_is_refused(view: WedgeView, now: datetime) -> None:
    with pytest.raises(ValueError, match="freshness"):
        decide(view, None, now, freshness=-SECOND)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stage_index": 4}, "out of range"),
        ({"stage_index": -2}, "out of range"),
        ({"stage_opened_at": None}, "needs stage_opened_at"),
        ({"state": "RUNNING"}, "unknown wedge state"),
        ({"stages": ()}, "at least one stage"),
        ({"increment_policy": "fast"}, "unknown increment policy"),
    ],
)
def test_inconsistent_views_are_refused(
    view: WedgeView, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(view, **changes)


def test_stage_views_hold_only_valid_expressions() -> None:
    with pytest.raises(ExpressionError):
        StageView("s", 10, 1, ("a <",), "b > 1")


def test_huge_durations_never_overflow(
    view: WedgeView, make_snapshot: MakeSnapshot, now: datetime
) -> None:
    endless = dataclasses.replace(view, observation_window_hours=1e300)
    decision = at(endless, now + 100 * HOUR, make_snapshot(now + 100 * HOUR))
    assert (decision.action, decision.rule, decision.eligible_at) == (
        Action.NONE,
        codes.RULE_OBSERVE,
        None,
    )
