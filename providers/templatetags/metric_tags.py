from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from providers.selectors import QueriesPanel, failing_wedge_ids, queries_panel

register = template.Library()


@register.simple_tag
def metric_queries(proposal: Any) -> QueriesPanel | None:
    """``{% metric_queries proposal as panel %}``: the proposal's queries, or None."""
    return queries_panel(proposal)


@register.simple_tag
def failing_metrics(wedges: Iterable[Any]) -> set[int]:
    """``{% failing_metrics wedges as failing %}``: ids of the wedges whose queries fail."""
    return failing_wedge_ids(wedge.pk for wedge in wedges)


@register.filter
def metric_value(value: float | None) -> str:
    """A reading as the page shows it: up to 6 significant digits."""
    return "—" if value is None else f"{value:.6g}"
