"""Criteria and triggers explained term by term, for people and for the engine's reasons.

``terms("error_rate > 0.05 or p99 > 800ms", {"error_rate": 0.09, "p99": "900ms"})``
gives each comparison with the value it read and whether it holds, so a page
can say "error_rate 0.09 > 0.05" instead of printing the snapshot. Everything
here reads structured evidence (an expression and the snapshot values an
engine decision recorded), never a reason string.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .expressions import And, Comparison, Expr, Or, parse
from .units import parse_quantity

__all__ = ["Term", "comparisons", "describe", "holding", "shown", "terms"]

# How a person reads an operator when a comparison does not hold.
_NEEDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "", "!=": "not"}


def comparisons(expression: Expr) -> Iterator[Comparison]:
    """The comparisons of a parsed expression, left to right."""
    if isinstance(expression, Comparison):
        yield expression
    elif isinstance(expression, And | Or):
        for term in expression.terms:
            yield from comparisons(term)


@dataclass(frozen=True)
class Term:
    """One comparison of an expression, read against snapshot values."""

    metric: str
    op: str
    threshold: str  # as written: "800ms", "99.9%", "0.05"
    value: object  # the snapshot's raw value; None when the metric was not reported
    holds: bool

    @property
    def reported(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return describe(self)


def terms(expression: str, values: Mapping[str, object]) -> tuple[Term, ...]:
    """Each comparison of ``expression`` against ``values``, in the order written."""
    return tuple(
        Term(
            metric=comparison.metric,
            op=comparison.op,
            threshold=f"{comparison.literal}{comparison.threshold.unit or ''}",
            value=values.get(comparison.metric),
            holds=comparison.evaluate(values),
        )
        for comparison in comparisons(parse(expression))
    )


def holding(expression: str, values: Mapping[str, object]) -> tuple[Term, ...]:
    """The comparisons that hold: for a trigger that fired, what fired it."""
    return tuple(term for term in terms(expression, values) if term.holds)


def describe(term: Term) -> str:
    """ "error_rate 0.09 > 0.05" when it holds; "p99 180ms, needs at most 250ms" when it
    does not; "p99 not reported" when the snapshot lacked it."""
    if not term.reported:
        return f"{term.metric} not reported"
    value = shown(term.value)
    if term.holds:
        return f"{term.metric} {value} {term.op} {term.threshold}"
    if parse_quantity(term.value) is None:
        return f"{term.metric} {value} is not a number"
    needs = _NEEDS[term.op]
    return f"{term.metric} {value}, needs {needs + ' ' if needs else ''}{term.threshold}"


def shown(value: object) -> str:
    """A snapshot value as read: "0.09", "180ms"; long text cut short."""
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"
