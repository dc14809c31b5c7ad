"""Exposure percentages as HAProxy weights, and back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

# HAProxy's largest server weight: splitting 256 between the two servers gives
# the finest steps the load balancer offers (0.390625 % each).
TOTAL_WEIGHT = 256


@dataclass(frozen=True)
class Split:
    """The weights of the canary and the stable server in one backend."""

    canary: int
    stable: int

    def __str__(self) -> str:
        return f"canary={self.canary} stable={self.stable}"


def split_for(exposure: float) -> Split:
    """The weights that send ``exposure`` % of new traffic to the canary.

    The canary's weight is rounded down, so the applied exposure never exceeds
    the desired one: rounding up could put a canary above ``max_blast_radius``.
    The stable server gets the rest.
    """
    if not math.isfinite(exposure) or not 0 <= exposure <= 100:
        raise ValueError(f"exposure must be a percentage in 0..100, not {exposure!r}")
    # Decimal from the shortest repr: 33.3 % is 85.248 weights, not 85.24799...
    canary = int(Decimal(repr(float(exposure))) * TOTAL_WEIGHT // 100)
    return Split(canary=canary, stable=TOTAL_WEIGHT - canary)


def exposure_of(canary_weight: int, stable_weight: int) -> float:
    """The share of new traffic, in %, that weights send to the canary.

    Not rounded: with a total of 256 the value is exact in binary, and rounding
    to a few decimals could round up past the desired exposure.
    """
    total = canary_weight + stable_weight
    if total <= 0:
        return 0.0
    return canary_weight * 100 / total
