from __future__ import annotations

from typing import Any

from django import template

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
