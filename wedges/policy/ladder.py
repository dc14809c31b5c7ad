"""Stage ladders: generating target percentages for an increment policy, and checking them.

A ladder is the list of stage ``target_percentage`` values. Generated ladders
start at ``initial`` (so the first stage holds the initial exposure and no
implicit hold is needed) and end at ``maximum``:

* ``linear`` (and ``manual``, which promises no shape, so it gets the steadiest
  one): equal steps;
* ``exponential``: a constant ratio.

Interior targets are rounded to round numbers (``nice_ladder``): to 5 where
neighbouring stages lie 10 points or more apart, to whole percentages where they
lie 2 or more apart, finer only where the ladder is that narrow; the endpoints
are kept exactly as given, so the first stage equals ``initial`` and the last
equals ``maximum``. A rounded ladder still follows its policy (``follows_policy``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Final

from .codes import INCREMENT_POLICIES, Increment

MAX_LADDER_STAGES: Final = 100
DECIMALS: Final = 2
# A hand-written or generated ladder still "follows" its policy when every target
# is within rounding distance of the ideal one: 2-decimal rounding moves a value
# by at most 0.005, so 0.01 leaves room for float noise.
ABSOLUTE_TOLERANCE: Final = 0.01
RELATIVE_TOLERANCE: Final = 1e-6


def generate_ladder(policy: str, initial: float, maximum: float, stages: int) -> list[float]:
    """Targets for ``stages`` stages from ``initial`` to ``maximum`` under ``policy``.

    Raises ``ValueError`` naming the bad argument: an unknown policy; ``stages``
    outside 1..100; ``initial``/``maximum`` not finite numbers with
    ``0 < initial < maximum <= 100`` (``initial <= maximum`` for one stage); or a
    range too narrow for the targets to stay strictly increasing at 2 decimals.
    A single stage is ``[maximum]``.
    """
    _check_policy(policy)
    _check_stage_count(stages)
    _check_bounds(initial, maximum, stages)
    if stages == 1:
        return [maximum]
    ideal = _ideal_ladder(policy, initial, maximum, stages)
    ladder = [initial, *nice_ladder(ideal)[1:-1], maximum]
    if any(low >= high for low, high in itertools.pairwise(ladder)):
        raise ValueError(
            f"{stages} stages do not fit between {initial} and {maximum} with "
            f"{DECIMALS}-decimal targets; use fewer stages or a wider range"
        )
    return ladder


# Rounding steps for an interior target, by the distance to its ideal neighbours:
# (at least this far apart, round to this).
_GRANULES: Final = ((10.0, 5.0), (2.0, 1.0), (0.2, 0.1))


def _granule(value: float, low: float, high: float) -> float:
    gap = min(value - low, high - value)
    return next((granule for apart, granule in _GRANULES if gap >= apart), 10.0**-DECIMALS)


def nice_ladder(ideal: Sequence[float]) -> list[float]:
    """``ideal`` with its interior targets rounded to round numbers; endpoints kept.

    Each target is rounded to the coarsest step its distance to its ideal
    neighbours allows (see the module docstring), so rounding never swaps two
    stages. Where that would still make two targets meet, those are kept at 2
    decimals.
    """
    if len(ideal) <= 2:
        return list(ideal)
    rounded = [ideal[0]]
    for low, value, high in zip(ideal, ideal[1:-1], ideal[2:], strict=False):
        granule = _granule(value, low, high)
        if granule > 1 and abs(value - round(value)) < 10.0**-DECIMALS / 2:
            granule = 1.0  # a whole percentage is round enough: 24 stays 24
        nice = round(round(value / granule) * granule, DECIMALS)
        rounded.append(nice if rounded[-1] < nice < high else round(value, DECIMALS))
    rounded.append(ideal[-1])
    return rounded


def follows_policy(targets: Sequence[float], policy: str) -> bool:
    """Whether ``targets`` have the shape ``policy`` promises, up to rounding.

    ``linear``: equal steps; ``exponential``: a constant ratio (all targets > 0);
    ``manual``: any ladder. Two or fewer targets are one step, which is always
    equal (and a constant ratio when positive).
    """
    _check_policy(policy)
    if policy == Increment.MANUAL:
        return True
    if not all(_is_finite_number(t) for t in targets):
        return False
    if policy == Increment.EXPONENTIAL and any(t <= 0 for t in targets):
        return False
    if len(targets) <= 2:
        return True
    ideal = _ideal_ladder(policy, targets[0], targets[-1], len(targets))
    # Exact up to 2-decimal rounding, or rounded the way ``generate_ladder`` rounds.
    return any(
        all(
            math.isclose(actual, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
            for actual, expected in zip(targets, candidate, strict=True)
        )
        for candidate in (ideal, nice_ladder(ideal))
    )


def planned_total_hours(durations: Sequence[float], observation_window_hours: float) -> float:
    """SPEC's planned total: the stage durations plus one observation window per stage.

    Returns ``inf`` when the sum overflows a float.
    """
    try:
        return math.fsum(durations) + observation_window_hours * len(durations)
    except OverflowError:  # fsum raises where sum() would give inf
        return math.inf


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def _ideal_ladder(policy: str, first: float, last: float, stages: int) -> list[float]:
    steps = stages - 1
    if policy == Increment.EXPONENTIAL:
        ratio = last / first
        return [first * ratio ** (k / steps) for k in range(stages)]
    return [first + (last - first) * k / steps for k in range(stages)]


def _check_policy(policy: str) -> None:
    if policy not in INCREMENT_POLICIES:
        raise ValueError(
            f"unknown increment policy {policy!r}; expected one of {', '.join(INCREMENT_POLICIES)}"
        )


def _check_stage_count(stages: int) -> None:
    if isinstance(stages, bool) or not isinstance(stages, int):
        raise ValueError(f"stages must be an integer, not {type(stages).__name__}")
    if not 1 <= stages <= MAX_LADDER_STAGES:
        raise ValueError(f"stages must be between 1 and {MAX_LADDER_STAGES}, got {stages}")


def _check_bounds(initial: float, maximum: float, stages: int) -> None:
    for name, value in (("initial", initial), ("maximum", maximum)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if not 0 < initial <= 100:
        raise ValueError(f"initial must be in (0, 100], got {initial}")
    if not 0 < maximum <= 100:
        raise ValueError(f"maximum must be in (0, 100], got {maximum}")
    if stages > 1 and initial >= maximum:
        raise ValueError(f"initial ({initial}) must be below maximum ({maximum})")
    if initial > maximum:
        raise ValueError(f"initial ({initial}) must not exceed maximum ({maximum})")
