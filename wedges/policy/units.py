"""Quantities with units, as criteria expressions and metric snapshots use them.

Three dimensions exist: plain numbers (no unit), time (``ms``, ``s``, ``m``,
``h``) and percentages (``%``). Time converts freely within its dimension;
nothing converts across dimensions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Literal

Dimension = Literal["number", "time", "percent"]

# Factors in milliseconds, as integers, so a conversion is a single correctly
# rounded float multiplication or division (0.2s -> 200ms is exactly 200.0).
_TIME_FACTORS_MS: Final[dict[str, int]] = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000}
PERCENT: Final = "%"
UNITS: Final = frozenset({*_TIME_FACTORS_MS, PERCENT})

# ASCII only on purpose: str.isdigit() would also accept "²" or Arabic-Indic digits.
_QUANTITY_RE: Final = re.compile(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|%)?\s*")


def dimension_of(unit: str | None) -> Dimension:
    """The dimension a unit belongs to; ``None`` is a plain number."""
    if unit is None:
        return "number"
    if unit == PERCENT:
        return "percent"
    if unit in _TIME_FACTORS_MS:
        return "time"
    raise ValueError(f"unknown unit {unit!r}")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A finite number with an optional unit (``None`` means a plain number)."""

    value: float
    unit: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError("a quantity must be finite")
        dimension_of(self.unit)  # rejects unknown units

    @property
    def dimension(self) -> Dimension:
        return dimension_of(self.unit)

    def to(self, unit: str | None) -> float | None:
        """This quantity's value in ``unit``, or ``None`` across dimensions."""
        if unit == self.unit:
            return self.value
        if self.dimension != "time" or dimension_of(unit) != "time":
            return None
        assert unit is not None
        assert self.unit is not None
        source, target = _TIME_FACTORS_MS[self.unit], _TIME_FACTORS_MS[unit]
        converted = (
            self.value * (source // target) if source >= target else self.value / (target // source)
        )
        return converted if math.isfinite(converted) else None

    def __str__(self) -> str:
        return f"{self.value:g}{self.unit or ''}"


def parse_quantity(value: object) -> Quantity | None:
    """Read a snapshot value as a quantity, or ``None`` when it is not one.

    Accepted: an ``int`` or ``float`` (never ``bool``) that is finite, read as a
    plain number; a string holding a number with an optional unit, such as
    ``"0.004"``, ``"180ms"``, ``"0.2 s"`` or ``"99.95%"``. Everything else
    (``None``, NaN, infinities, numbers too large for a float, lists, unknown
    units) is ``None``: the caller treats the metric as unreadable.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _finite_quantity(value, None)
    if isinstance(value, str):
        match = _QUANTITY_RE.fullmatch(value)
        if match is None:
            return None
        return _finite_quantity(float(match.group(1)), match.group(2))
    return None


def _finite_quantity(value: int | float, unit: str | None) -> Quantity | None:
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        return None
    return Quantity(number, unit) if math.isfinite(number) else None
