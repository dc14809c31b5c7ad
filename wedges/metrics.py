"""Checking a metric snapshot's body before it reaches the rollout engine.

A snapshot is ``{"metrics": {name: value}}``. Names are what a criterion can
reference (the expression grammar's ``metric`` rule), so a value the engine
could never read is refused rather than stored; values are quantities the
engine can compare (``0.004``, ``"180ms"``, ``"99.9%"``).
"""

from __future__ import annotations

from typing import Any, Final

from wedges import errors
from wedges.errors import FieldError, MetricsInvalid
from wedges.policy import codes
from wedges.policy.expressions import is_metric_name
from wedges.policy.units import PERCENT, parse_quantity

MAX_METRICS: Final = 100
MAX_METRIC_NAME: Final = 100


def validate_metrics(body: Any) -> dict[str, Any]:
    """The ``metrics`` map of a snapshot body, or ``MetricsInvalid`` with every problem."""
    if not isinstance(body, dict):
        raise MetricsInvalid(
            [FieldError(None, errors.NOT_AN_OBJECT, "The body must be a JSON object.")]
        )
    problems: list[FieldError] = []
    for key in body:
        if key != "metrics":
            problems.append(
                FieldError(
                    str(key),
                    errors.UNKNOWN_KEY,
                    f'unknown field {key!r}; send {{"metrics": {{...}}}}',
                )
            )
    metrics = body.get("metrics")
    if metrics is None:
        problems.append(FieldError("metrics", errors.REQUIRED, "metrics is required"))
    elif not isinstance(metrics, dict):
        problems.append(
            FieldError("metrics", errors.WRONG_TYPE, "metrics must be an object of name: value")
        )
    elif not metrics:
        problems.append(
            FieldError("metrics", errors.EMPTY, "metrics must name at least one metric")
        )
    elif len(metrics) > MAX_METRICS:
        problems.append(
            FieldError("metrics", errors.TOO_MANY, f"at most {MAX_METRICS} metrics per snapshot")
        )
    else:
        for name, value in metrics.items():
            problems.extend(_metric_problems(name, value))
    if problems:
        raise MetricsInvalid(problems)
    return metrics  # type: ignore[return-value]


def _metric_problems(name: str, value: Any) -> list[FieldError]:
    path = f"metrics.{name}"
    if len(name) > MAX_METRIC_NAME or not is_metric_name(name):
        return [
            FieldError(
                path,
                errors.INVALID_NAME,
                f"metric names are what a criterion can name: an ASCII letter or '_', then "
                f"letters, digits, '_' and '.', at most {MAX_METRIC_NAME} characters, and not "
                f"'and' or 'or'",
            )
        ]
    quantity = parse_quantity(value)
    if quantity is None:
        return [
            FieldError(
                path,
                errors.NOT_A_QUANTITY,
                'must be a finite number, or a string like "180ms" or "99.9%"',
            )
        ]
    if name == codes.EXPOSURE_METRIC and quantity.unit not in (None, PERCENT):
        # The blast-radius check reads it as a percentage; in any other unit it
        # would be silently ignored.
        return [
            FieldError(
                path,
                errors.NOT_A_PERCENTAGE,
                f'{codes.EXPOSURE_METRIC} is a percentage: a number or a string like "5%"',
            )
        ]
    return []
