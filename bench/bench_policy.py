"""Validations per second of a 10-stage wedge, in process (the pure policy engine).

    .venv/bin/python -m bench.bench_policy

Needs no database: ``wedges.policy`` imports nothing from Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.measure import Row, check, print_rows
from bench.seed import ten_stage_proposal

SECONDS = 2.0  # per measurement; long enough for a stable rate, short for `make bench`


def _rate(step: Callable[[], object], seconds: float) -> tuple[int, float]:
    """Call ``step()`` repeatedly for ``seconds``; returns (calls, calls per second)."""
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):  # check the clock every 50 calls, not every call
            step()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls, calls / (now - start)


def measure() -> list[Row]:
    from wedges.policy import ValidationContext, validate
    from wedges.policy.expressions import _parse_cached

    document = ten_stage_proposal()["rollout_wedge"]
    context = ValidationContext()
    report = validate(document, context)
    check(not report.errors and not report.warnings, (report.errors, report.warnings))

    expressions = [
        text
        for stage in document["wedge_stages"]
        for text in [*stage["success_criteria"], stage["rollback_trigger"]]
    ]
    warm_calls, warm = _rate(lambda: validate(document, context), SECONDS)

    def cold() -> None:
        # Every expression parsed from scratch: the parser's LRU cache emptied first.
        _parse_cached.cache_clear()
        validate(document, context)

    cold_calls, cold_rate = _rate(cold, SECONDS)
    section = "validation"
    return [
        Row(
            section,
            "10-stage wedge, warm",
            f"{warm:,.0f} /s",
            f"validate(document, ValidationContext()) in a loop for {SECONDS:.0f} s, one core, "
            f"{warm_calls:,} calls; its {len(expressions)} expressions ({len(set(expressions))} "
            "distinct) come from the parser's LRU cache",
        ),
        Row(
            section,
            "10-stage wedge, cold parse",
            f"{cold_rate:,.0f} /s",
            f"the same with the expression cache cleared before each call ({cold_calls:,} calls)",
        ),
    ]


if __name__ == "__main__":
    print_rows("Validation in process (wedges.policy.validate)", measure())
