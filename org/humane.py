"""Times and quantities as people read them: "in 47 min (15:09 UTC)", "2 h 05 min", "7.5 %".

Every page shows times in UTC (the server's and the audit trail's zone), with
the zone named, so a time read off a page can be compared with a log line or
an export. The machine form stays in the ``datetime`` attribute of the
``<time>`` element around it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

UTC = dt.UTC


def span(delta: dt.timedelta) -> str:
    """A duration in the largest sensible units: "45 s", "12 min", "2 h 05 min", "3 days"."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    if days < 14:
        return f"{days} days {hours} h" if hours else f"{days} days"
    return f"{days} days"


def elapsed(delta: dt.timedelta) -> str:
    """A short measured duration, precise where it is short: "35 ms", "4.2 s", then ``span``."""
    seconds = abs(delta.total_seconds())
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return span(delta)


def clock(moment: dt.datetime, now: dt.datetime, *, seconds: bool = False) -> str:
    """The moment in UTC: "15:09 UTC" today, "3 Dec, 15:09 UTC" on another day this
    year, "3 Dec 2025, 15:09 UTC" in another year."""
    moment, now = moment.astimezone(UTC), now.astimezone(UTC)
    time = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    if moment.date() == now.date():
        return f"{time} UTC"
    day = f"{moment.day} {moment:%b}"
    if moment.year != now.year:
        day += f" {moment.year}"
    return f"{day}, {time} UTC"


def stamp(moment: dt.datetime, *, seconds: bool = True) -> str:
    """An absolute moment for tables read later: "3 Dec 2026, 15:09:12 UTC"."""
    moment = moment.astimezone(UTC)
    time = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{moment.day} {moment:%b %Y}, {time} UTC"


def relative(moment: dt.datetime, now: dt.datetime) -> str:
    """ "in 47 min (15:09 UTC)", "12 min ago (14:30 UTC)", "just now (14:42 UTC)"."""
    delta = moment - now
    at = clock(moment, now)
    if abs(delta) < dt.timedelta(seconds=45):
        return f"just now ({at})" if delta <= dt.timedelta(0) else f"in under a minute ({at})"
    if delta > dt.timedelta(0):
        return f"in {span(delta)} ({at})"
    return f"{span(delta)} ago ({at})"


def percent(value: float | Decimal | int | None) -> str:
    """ "7.5 %", "40 %" (never "40.00"); "—" for none."""
    if value is None:
        return "—"
    number = float(value)
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"
