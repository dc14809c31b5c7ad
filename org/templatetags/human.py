"""Template helpers for times and numbers as people read them (``org.humane``).

``{% when moment %}`` -> ``<time datetime="…">in 47 min (15:09 UTC)</time>``;
``{% at moment %}`` -> ``<time …>15:09 UTC</time>``; ``{% stamp moment %}`` ->
``<time …>3 Dec 2026, 15:09:12 UTC</time>``. Each reads ``now`` from the
template's context when the view put one there, so one page says one time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from org import humane

register = template.Library()


def _now(context: template.Context) -> dt.datetime:
    now = context.get("now")
    return now if isinstance(now, dt.datetime) else timezone.now()


def _time(moment: dt.datetime, text: str) -> SafeString:
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.astimezone(dt.UTC).isoformat(timespec="seconds"),
        humane.stamp(moment),
        text,
    )


@register.simple_tag(takes_context=True)
def when(context: template.Context, moment: dt.datetime | None, empty: str = "—") -> str:
    """Relative and absolute: "in 47 min (15:09 UTC)", "12 min ago (14:30 UTC)"."""
    if moment is None:
        return empty
    return _time(moment, humane.relative(moment, _now(context)))


@register.simple_tag(takes_context=True)
def at(context: template.Context, moment: dt.datetime | None, seconds: bool = False) -> str:
    """The clock time in UTC, with the day when it is not today: "15:09 UTC"."""
    if moment is None:
        return "—"
    return _time(moment, humane.clock(moment, _now(context), seconds=seconds))


@register.simple_tag
def stamp(moment: dt.datetime | None, seconds: bool = True) -> str:
    """The full moment, for tables read later: "3 Dec 2026, 15:09:12 UTC"."""
    if moment is None:
        return "—"
    return _time(moment, humane.stamp(moment, seconds=seconds))


@register.filter
def span(delta: dt.timedelta | None) -> str:
    """A duration: "45 s", "12 min", "2 h 05 min" ("—" for none)."""
    return "—" if delta is None else humane.span(delta)


@register.filter
def elapsed(delta: dt.timedelta | None) -> str:
    """A measured duration: "35 ms", "4.2 s", "1 min 05 s" ("—" for none)."""
    return "—" if delta is None else humane.elapsed(delta)


@register.filter
def hours_span(hours: float | None) -> str:
    """A duration given in hours, as ``span`` writes it: 1.5 -> "1 h 30 min"."""
    if hours is None:
        return "—"
    try:
        return humane.span(dt.timedelta(hours=hours))
    except OverflowError:
        return f"{hours:g} h"


@register.filter
def pct(value: float | Decimal | int | None) -> str:
    """A percentage as people write it: "7.5 %", "40 %" ("—" for none)."""
    return humane.percent(value)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """``{{ mapping|get:key }}``: a lookup with a computed key (``None`` when absent)."""
    if not mapping:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None
