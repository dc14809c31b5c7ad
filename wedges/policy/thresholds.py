"""The policy's tunable thresholds, as one value the validator and the engine are given.

The policy ("Thresholds") fixes the numbers a rollout wedge is judged by; the
server keeps them as versioned records (``policies.PolicyVersion``) and hands
the core the version in force as a ``Thresholds``. The defaults are version 1,
the policy as written, and they are the floor: a later version may only
tighten them (``loosened``). The offline CLI judges by the defaults unless it
is given a version's values (``wedge validate --policy FILE``).

Which way is tighter, field by field:

* ``critical_initial_cap``, ``first_stage_cap``: a lower cap exposes less;
* ``min_stages``, ``min_observation_window_hours``: more stages, longer windows;
* ``pause_after_windows``: a stuck stage pauses after fewer windows;
* ``rollback_slo_seconds``: a rollback must reach deployers sooner;
* ``max_waiver_days``: an exception lasts less long.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from . import codes


@dataclass(frozen=True)
class Thresholds:
    """One version of the policy's thresholds; the defaults are version 1 (the floor)."""

    critical_initial_cap: float = codes.CRITICAL_INITIAL_CAP
    min_stages: int = codes.MIN_STAGES
    min_observation_window_hours: float = codes.MIN_OBSERVATION_WINDOW_HOURS
    first_stage_cap: float = codes.FIRST_STAGE_CAP
    pause_after_windows: int = codes.PAUSE_AFTER_WINDOWS
    rollback_slo_seconds: int = codes.ROLLBACK_SLO_SECONDS
    max_waiver_days: int = codes.MAX_WAIVER_DAYS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FLOOR: Final = Thresholds()

# True: a higher value is tighter; False: a lower value is.
HIGHER_IS_TIGHTER: Final[dict[str, bool]] = {
    "critical_initial_cap": False,
    "min_stages": True,
    "min_observation_window_hours": True,
    "first_stage_cap": False,
    "pause_after_windows": False,
    "rollback_slo_seconds": False,
    "max_waiver_days": False,
}
INTEGER_FIELDS: Final = frozenset(
    {"min_stages", "pause_after_windows", "rollback_slo_seconds", "max_waiver_days"}
)
# The plain-words name of each threshold and its unit, for pages, messages and reports.
LABELS: Final[dict[str, tuple[str, str]]] = {
    "critical_initial_cap": ("Initial exposure cap on a critical subsystem", "%"),
    "min_stages": ("Minimum number of stages", "stages"),
    "min_observation_window_hours": ("Minimum observation window", "hours"),
    "first_stage_cap": ("First stage cap", "%"),
    "pause_after_windows": ("Pause a stuck stage after", "observation windows"),
    "rollback_slo_seconds": ("Rollback to reach deployers within", "seconds"),
    "max_waiver_days": ("Longest waiver", "days"),
}
FIELDS: Final = tuple(f.name for f in fields(Thresholds))
# Outer bounds a version must stay within, whatever the floor: the engine and
# the calendar need a positive cap, at least one stage, a window it can date.
_BOUNDS: Final[dict[str, tuple[float, float]]] = {
    "critical_initial_cap": (0.01, 100.0),
    "min_stages": (1, 100),
    "min_observation_window_hours": (0.01, codes.MAX_STAGE_HOURS),
    "first_stage_cap": (0.01, 100.0),
    "pause_after_windows": (1, 1000),
    "rollback_slo_seconds": (1, 86_400),
    "max_waiver_days": (1, 3650),
}

# Error codes (the API's ``code``).
LOOSENS_POLICY: Final = "loosens_policy"
OUT_OF_RANGE: Final = "out_of_range"
NOT_AN_INTEGER: Final = "not_an_integer"
NO_CHANGE: Final = "no_change"


@dataclass(frozen=True)
class ThresholdIssue:
    """One problem with a proposed version: the field, a stable code, a human message."""

    field: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"field": self.field, "code": self.code, "message": self.message}


def _fmt(value: float) -> str:
    return f"{value:g}"


def amount(name: str, value: float) -> str:
    """ "20 %", "1 hour", "3 observation windows": a threshold's value with its unit."""
    unit = LABELS[name][1]
    if value == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{_fmt(value)} {unit}"


def describe(name: str, value: float) -> str:
    """ "First stage cap: 20 %" — one threshold in plain words."""
    return f"{LABELS[name][0]}: {amount(name, value)}"


def loosened(candidate: Thresholds, floor: Thresholds = FLOOR) -> list[str]:
    """The fields in which ``candidate`` is looser than ``floor``, in field order."""
    looser = []
    for name in FIELDS:
        new, old = getattr(candidate, name), getattr(floor, name)
        if (new < old) if HIGHER_IS_TIGHTER[name] else (new > old):
            looser.append(name)
    return looser


def changes(before: Thresholds, after: Thresholds) -> dict[str, tuple[Any, Any]]:
    """``{field: (before, after)}`` for every field whose value differs."""
    return {
        name: (getattr(before, name), getattr(after, name))
        for name in FIELDS
        if getattr(before, name) != getattr(after, name)
    }


def check_thresholds(
    values: Mapping[str, object],
    *,
    base: Thresholds,
    floor: Thresholds = FLOOR,
) -> tuple[Thresholds | None, list[ThresholdIssue]]:
    """Read a proposed version: ``values`` overrides ``base`` field by field.

    Every problem is reported at once: unknown fields, wrong types, values out
    of bounds, values looser than ``floor`` (``loosens_policy``), and a version
    that changes nothing against ``base`` (``no_change``). Returns the new
    thresholds when there is no problem, else ``None`` and the problems.
    """
    issues: list[ThresholdIssue] = []
    merged = base.to_dict()
    for name, value in values.items():
        if name not in HIGHER_IS_TIGHTER:
            issues.append(ThresholdIssue(name, codes.UNKNOWN_KEY, f"{name} is not a threshold"))
            continue
        number = _number(name, value, issues)
        if number is not None:
            merged[name] = number
    if issues:
        return None, issues
    candidate = Thresholds(**merged)
    for name in loosened(candidate, floor):
        label, unit = LABELS[name]
        bound = "at least" if HIGHER_IS_TIGHTER[name] else "at most"
        issues.append(
            ThresholdIssue(
                name,
                LOOSENS_POLICY,
                f"{label} may only be tightened: {bound} {_fmt(getattr(floor, name))} {unit} "
                f"(the policy's version 1), got {_fmt(getattr(candidate, name))}",
            )
        )
    if not issues and candidate == base:
        issues.append(ThresholdIssue(None, NO_CHANGE, "The proposed version changes no threshold."))
    return (None, issues) if issues else (candidate, [])


def _number(name: str, value: object, issues: list[ThresholdIssue]) -> float | int | None:
    label, unit = LABELS[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(ThresholdIssue(name, codes.WRONG_TYPE, f"{label} must be a number"))
        return None
    if not math.isfinite(value):
        issues.append(ThresholdIssue(name, codes.NOT_FINITE, f"{label} must be a finite number"))
        return None
    if name in INTEGER_FIELDS:
        if value != int(value):
            issues.append(ThresholdIssue(name, NOT_AN_INTEGER, f"{label} must be a whole number"))
            return None
        value = int(value)
    else:
        value = float(value)
    low, high = _BOUNDS[name]
    if not low <= value <= high:
        issues.append(
            ThresholdIssue(
                name,
                OUT_OF_RANGE,
                f"{label} must lie between {_fmt(low)} and {_fmt(high)} {unit}, got {_fmt(value)}",
            )
        )
        return None
    return value


def from_mapping(values: Mapping[str, object]) -> Thresholds:
    """A version's thresholds from a file (``wedge validate --policy``); ``ValueError`` if bad.

    Unlike a proposal, a file may repeat version 1 unchanged.
    """
    candidate, issues = check_thresholds(values, base=FLOOR)
    issues = [issue for issue in issues if issue.code != NO_CHANGE]
    if issues:
        raise ValueError("; ".join(issue.message for issue in issues))
    return candidate or FLOOR
