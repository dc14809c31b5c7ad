"""Ladder generation for the increment policies, ladder shape checks and planned duration."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wedges.policy.ladder import (
    MAX_LADDER_STAGES,
    follows_policy,
    generate_ladder,
    planned_total_hours,
)


@pytest.mark.parametrize(
    ("policy", "initial", "maximum", "stages", "expected"),
    [
        ("linear", 1, 100, 4, [1, 34, 67, 100]),
        # Round numbers: to 5 where stages lie 10 points apart, whole ones where 2.
        ("linear", 5, 100, 4, [5, 35, 70, 100]),
        ("linear", 5, 100, 3, [5, 50, 100]),
        ("linear", 10, 50, 2, [10, 50]),
        ("manual", 5, 100, 4, [5, 35, 70, 100]),
        ("exponential", 1, 100, 3, [1, 10, 100]),
        ("exponential", 1, 100, 5, [1, 3, 10, 30, 100]),
        ("linear", 1, 2, 5, [1, 1.2, 1.5, 1.8, 2]),
        ("exponential", 1.5, 96, 7, [1.5, 3, 6, 12, 24, 48, 96]),
        ("linear", 2, 100, 1, [100]),
    ],
)
def test_generated_ladders(
    policy: str, initial: float, maximum: float, stages: int, expected: list[float]
) -> None:
    assert generate_ladder(policy, initial, maximum, stages) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("geometric", 1, 100, 3), "unknown increment policy 'geometric'"),
        (("linear", 1, 100, 0), "stages must be between 1 and 100"),
        (("linear", 1, 100, MAX_LADDER_STAGES + 1), "stages must be between 1 and 100"),
        (("linear", 1, 100, True), "stages must be an integer"),
        (("linear", 1, 100, 2.0), "stages must be an integer"),
        (("linear", 0, 100, 3), r"initial must be in \(0, 100\]"),
        (("linear", -1, 100, 3), r"initial must be in \(0, 100\]"),
        (("linear", 1, 100.5, 3), r"maximum must be in \(0, 100\]"),
        (("linear", 50, 50, 3), r"initial \(50\) must be below maximum \(50\)"),
        (("linear", 60, 50, 1), r"initial \(60\) must not exceed maximum \(50\)"),
        (("linear", math.nan, 50, 3), "initial must be finite"),
        (("linear", 1, math.inf, 3), "maximum must be finite"),
        (("linear", True, 50, 3), "initial must be a number"),
        (("linear", 1, 1.02, 5), "do not fit between 1 and 1.02"),
        (("exponential", 99.9, 100, 40), "do not fit"),
    ],
)
def test_bad_ladder_arguments(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_ladder(*arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("targets", "policy", "expected"),
    [
        ([10, 40, 70, 100], "linear", True),
        ([5, 36.67, 68.33, 100], "linear", True),  # rounded to 2 decimals
        ([5, 35, 70, 100], "linear", True),  # rounded as generate_ladder rounds
        ([1, 3, 10, 30, 100], "exponential", True),
        ([5, 36.69, 68.33, 100], "linear", False),  # 0.02 off
        ([5, 25, 50, 100], "linear", False),
        ([1, 10, 100], "exponential", True),
        ([1, 3.16, 10, 31.62, 100], "exponential", True),
        ([1, 5, 25, 50, 100], "exponential", False),
        ([10, 40, 70, 100], "exponential", False),
        ([0, 50, 100], "exponential", False),  # no ratio from 0
        ([5, 25, 50, 100], "manual", True),
        ([1, 99], "linear", True),  # a single step is always equal
        ([1, 99], "exponential", True),
        ([7], "linear", True),
        ([], "linear", True),
        ([1, math.nan, 100], "linear", False),
        ([1, math.inf], "linear", False),
    ],
)
def test_follows_policy(targets: list[float], policy: str, expected: bool) -> None:
    assert follows_policy(targets, policy) is expected


def test_follows_policy_rejects_unknown_policies() -> None:
    with pytest.raises(ValueError, match="unknown increment policy"):
        follows_policy([1, 2], "steady")


def test_planned_total_hours() -> None:
    assert planned_total_hours([2, 4, 6], 1.5) == 16.5
    assert planned_total_hours([], 2) == 0
    assert planned_total_hours([1e308, 1e308], 1) == math.inf


@st.composite
def ladder_arguments(draw: st.DrawFn) -> tuple[str, float, float, int]:
    policy = draw(st.sampled_from(["linear", "exponential", "manual"]))
    initial = draw(st.floats(min_value=0.01, max_value=50))
    maximum = draw(st.floats(min_value=initial + 1, max_value=100))
    stages = draw(st.integers(min_value=2, max_value=12))
    return policy, initial, maximum, stages


@settings(max_examples=300, deadline=None)
@given(ladder_arguments())
def test_generated_ladders_have_the_promised_shape(
    arguments: tuple[str, float, float, int],
) -> None:
    policy, initial, maximum, stages = arguments
    try:
        ladder = generate_ladder(policy, initial, maximum, stages)
    except ValueError as error:
        # Only a range too narrow for 2-decimal steps may be refused.
        assert "do not fit" in str(error)  # noqa: PT017
        return
    assert len(ladder) == stages
    assert ladder[0] == initial
    assert ladder[-1] == maximum
    assert all(low < high for low, high in itertools.pairwise(ladder))
    assert all(round(value, 2) == value for value in ladder[1:-1])
    assert follows_policy(ladder, policy)
