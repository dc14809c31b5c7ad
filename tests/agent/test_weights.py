"""Exposure percentages as HAProxy weights: the canary rounds down, stable gets the rest."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.weights import TOTAL_WEIGHT, Split, exposure_of, split_for


@pytest.mark.parametrize(
    ("exposure", "canary", "stable"),
    [(0, 0, 256), (5, 12, 244), (33.3, 85, 171), (100, 256, 0), (50, 128, 128), (25, 64, 192)],
)
def test_exposure_to_weights(exposure, canary, stable):
    assert split_for(exposure) == Split(canary=canary, stable=stable)


def test_a_weight_step_is_not_rounded_up():
    # 10.15625 % is exactly 26 weights; a hair less must stay at 25.
    assert split_for(10.15625).canary == 26
    assert split_for(10.156249).canary == 25


@pytest.mark.parametrize("exposure", [-0.1, 100.1, math.nan, math.inf])
def test_exposure_outside_a_percentage_is_refused(exposure):
    with pytest.raises(ValueError, match="percentage"):
        split_for(exposure)


@pytest.mark.parametrize(
    ("canary", "stable", "exposure"),
    [(0, 256, 0.0), (12, 244, 4.6875), (85, 171, 33.203125), (256, 0, 100.0), (0, 0, 0.0)],
)
def test_weights_to_exposure(canary, stable, exposure):
    assert exposure_of(canary, stable) == exposure


@given(st.floats(min_value=0, max_value=100))
def test_the_applied_exposure_never_exceeds_the_desired_one(desired):
    split = split_for(desired)
    assert split.canary + split.stable == TOTAL_WEIGHT
    assert exposure_of(split.canary, split.stable) <= desired
    # ...and is as close as the weights allow.
    assert desired - exposure_of(split.canary, split.stable) < 100 / TOTAL_WEIGHT
