"""The thresholds as a value: the validator and the engine judge by the version they are given."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wedges.policy.conftest import NOW, build_document, build_snapshot, build_view
from wedges.policy import ValidationContext, validate
from wedges.policy import codes as c
from wedges.policy.engine import Action, decide
from wedges.policy.thresholds import (
    FLOOR,
    HIGHER_IS_TIGHTER,
    LOOSENS_POLICY,
    NO_CHANGE,
    NOT_AN_INTEGER,
    OUT_OF_RANGE,
    Thresholds,
    changes,
    check_thresholds,
    from_mapping,
    loosened,
)
from wedges.policy.validation import limits, waived_rules

HOUR = timedelta(hours=1)


def test_version_one_is_the_policy_as_written():
    assert (
        Thresholds(
            critical_initial_cap=10.0,
            min_stages=2,
            min_observation_window_hours=1.0,
            first_stage_cap=25.0,
            pause_after_windows=3,
            rollback_slo_seconds=60,
            max_waiver_days=90,
        )
        == FLOOR
    )


@pytest.mark.parametrize(
    ("field", "looser", "tighter"),
    [
        ("critical_initial_cap", 10.5, 5.0),
        ("min_stages", 1, 3),
        ("min_observation_window_hours", 0.5, 2.0),
        ("first_stage_cap", 30.0, 20.0),
        ("pause_after_windows", 4, 2),
        ("rollback_slo_seconds", 61, 30),
        ("max_waiver_days", 91, 30),
    ],
)
def test_each_threshold_may_only_tighten(field, looser, tighter):
    _, issues = check_thresholds({field: looser}, base=FLOOR)
    assert [(i.field, i.code) for i in issues] == [(field, LOOSENS_POLICY)]
    assert "version 1" in issues[0].message
    candidate, issues = check_thresholds({field: tighter}, base=FLOOR)
    assert issues == []
    assert candidate is not None
    assert getattr(candidate, field) == tighter
    assert loosened(candidate) == []


def test_every_problem_is_reported_at_once_with_its_field():
    _, issues = check_thresholds(
        {
            "critical_initial_cap": 12,
            "min_stages": 2.5,
            "first_stage_cap": "20",
            "max_waiver_days": 0,
            "colour": "red",
        },
        base=FLOOR,
    )
    assert {(i.field, i.code) for i in issues} == {
        ("min_stages", NOT_AN_INTEGER),
        ("first_stage_cap", c.WRONG_TYPE),
        ("max_waiver_days", OUT_OF_RANGE),
        ("colour", c.UNKNOWN_KEY),
    }  # the loosened cap is reported once the values themselves are readable


def test_a_version_that_changes_nothing_is_refused():
    tighter = replace(FLOOR, first_stage_cap=20.0)
    _, issues = check_thresholds({"first_stage_cap": 20}, base=tighter)
    assert [(i.field, i.code) for i in issues] == [(None, NO_CHANGE)]


def test_a_later_version_may_loosen_back_towards_version_one_never_past_it():
    version_two = replace(FLOOR, first_stage_cap=20.0)
    back, issues = check_thresholds({"first_stage_cap": 25}, base=version_two)
    assert issues == []
    assert back == FLOOR
    assert changes(version_two, FLOOR) == {"first_stage_cap": (20.0, 25.0)}


def test_a_policy_file_for_the_cli():
    assert from_mapping({}) == FLOOR
    assert from_mapping({"min_stages": 3}).min_stages == 3
    with pytest.raises(ValueError, match="may only be tightened"):
        from_mapping({"min_stages": 1})


def test_the_validator_judges_by_the_version_it_is_given():
    document = build_document()  # four stages, first at 10 %, window 1 h
    assert validate(document).valid
    strict = replace(FLOOR, min_stages=5, first_stage_cap=5.0, min_observation_window_hours=2.0)
    report = validate(document, ValidationContext(thresholds=strict))
    assert {issue.code for issue in report.errors} >= {
        c.STAGES_TOO_FEW,
        c.FIRST_STAGE_TOO_LARGE,
        c.OBSERVATION_WINDOW_TOO_SHORT,
    }
    too_few = next(issue for issue in report.errors if issue.code == c.STAGES_TOO_FEW)
    assert "at least 5" in too_few.message
    short = next(i for i in report.errors if i.code == c.OBSERVATION_WINDOW_TOO_SHORT)
    assert "at least 2 hours" in short.text


def test_the_critical_cap_is_the_versions():
    document = build_document(initial_percentage=8)
    critical = ValidationContext(subsystem_critical=True)
    assert validate(document, critical).valid
    tighter = replace(critical, thresholds=replace(FLOOR, critical_initial_cap=5.0))
    (issue,) = validate(document, tighter).errors
    assert issue.code == c.INITIAL_ABOVE_CRITICAL_CAP
    assert "at most 5" in issue.message
    assert "5 %" in limits(tighter, "Control plane")["initial_percentage"]


def test_waived_rules_name_the_versions_numbers():
    strict = replace(FLOOR, min_stages=3)
    assert waived_rules([c.STAGES_TOO_FEW]) == "fewer than 2 stages"
    assert waived_rules([c.STAGES_TOO_FEW], strict) == "fewer than 3 stages"


def test_the_engine_pauses_after_the_versions_multiple_of_windows():
    unhealthy = build_snapshot(NOW + HOUR, error_rate=0.02)  # criteria unmet, trigger quiet
    two = build_view(thresholds=replace(FLOOR, pause_after_windows=2))
    three = build_view()
    fresh = timedelta(days=1)
    just_before = NOW + 2 * HOUR - timedelta(seconds=1)
    assert decide(two, unhealthy, just_before, freshness=fresh).action == Action.NONE
    paused = decide(two, unhealthy, NOW + 2 * HOUR, freshness=fresh)
    assert paused.action == Action.PAUSE
    assert "open 2 x the" in paused.reason
    assert decide(three, unhealthy, NOW + 2 * HOUR, freshness=fresh).action == Action.NONE
    assert decide(three, unhealthy, NOW + 3 * HOUR, freshness=fresh).action == Action.PAUSE


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(HIGHER_IS_TIGHTER)),
        st.one_of(st.integers(-5, 200), st.floats(-5, 200, allow_nan=False)),
    )
)
def test_no_accepted_version_is_looser_than_version_one(values):
    candidate, issues = check_thresholds(values, base=FLOOR)
    if candidate is not None:
        assert issues == []
        assert loosened(candidate) == []
    else:
        assert issues
        assert all(issue.code for issue in issues)
