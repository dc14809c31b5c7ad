from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

from wedges.models import RollbackTiming, RolloutWedge, State

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``{{ errors|get_item:name }}``: a dict lookup with a computed key."""
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g} %"


@register.filter
def hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g} h"


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as "1 h 05 min" (or "—")."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@register.simple_tag
def rollback_timing(wedge: RolloutWedge) -> RollbackTiming | None:
    """The timing of the wedge's rollback; no query unless it was rolled back."""
    if wedge.wedge_state != State.ROLLED_BACK:
        return None
    return RollbackTiming.objects.filter(wedge=wedge).select_related("wedge").first()
