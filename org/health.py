"""Liveness of the parts Wedge depends on, for /healthz.

The public answer names the parts and whether each is up; what went wrong
(driver errors can carry host names, ports or user names) goes to the log and
to signed-in staff only.

Two kinds of part:

* **critical** ones, without which this web process cannot serve: the
  database and the broker. If one is down, /healthz answers 503 and a load
  balancer takes this instance out of rotation.
* the rest of the cluster, shared by every web process: the engine workers and
  beat (``engine``: the last beat tick a worker ran), the webhook workers
  (``webhooks``: the last outbox re-drive), and whatever another app registers
  (``register_check``; metric providers, when configured). If one of those is down,
  /healthz still answers 200, with ``status: degraded`` and the part named:
  taking every web instance out of rotation would not bring a worker back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    detail: str
    critical: bool = True


# Heartbeat names (``org.models.Heartbeat``), written by the periodic tasks.
ENGINE = "engine"  # the rollout tick, on an engine worker
WEBHOOKS = "webhooks"  # the outbox re-drive, on a webhook worker

# A check of another app's part; ``None`` when it has nothing to report.
PartCheck = Callable[[], PartStatus | None]
_CHECKS: list[PartCheck] = []


def register_check(check: PartCheck) -> None:
    """Have /healthz ask ``check`` too (apps register theirs in ``ready``)."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def beat(name: str, now: datetime | None = None) -> None:
    """Record that the periodic job ``name`` ran to the end (one upsert)."""
    from org.models import Heartbeat

    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, seen_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["seen_at"],
    )


def _down(name: str, exc: Exception) -> PartStatus:
    detail = f"{type(exc).__name__}: {exc}".strip()
    logger.warning("health check: the %s is down: %s", name, detail)
    return PartStatus(name, False, detail)


def check_database() -> PartStatus:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return _down("database", exc)
    return PartStatus("database", True, connection.vendor)


def check_broker(timeout: float = 2.0) -> PartStatus:
    """Open a connection to the configured broker (Redis, or the embedded one)."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=int(timeout))
            # A connect alone proves little for Redis; a round trip does.
            if conn.transport_cls == "redis":
                conn.default_channel.client.ping()  # type: ignore[attr-defined]
            transport = conn.transport_cls
    except Exception as exc:  # any transport error means "down"
        return _down("broker", exc)
    return PartStatus("broker", True, str(transport))


def heartbeat_allowance(interval_seconds: float) -> timedelta:
    """How old a job's heartbeat may be before its part counts as down: three intervals
    and a minute, so a slow run or a restart is not an outage."""
    return timedelta(seconds=3 * interval_seconds + 60)


def check_heartbeats(now: datetime | None = None) -> list[PartStatus]:
    """The engine (beat + an engine worker) and the webhook workers, by their last runs."""
    from org.models import Heartbeat

    now = now or timezone.now()
    jobs = {
        ENGINE: ("beat tick", settings.WEDGE_TICK_SECONDS),
        WEBHOOKS: ("outbox re-drive", settings.WEDGE_OUTBOX_REDRIVE_SECONDS),
    }
    try:
        seen = dict(Heartbeat.objects.filter(name__in=jobs).values_list("name", "seen_at"))
    except Exception as exc:  # the database part reports the cause
        return [PartStatus(name, False, f"unknown: {type(exc).__name__}", False) for name in jobs]
    parts = []
    for name, (job, interval) in jobs.items():
        at = seen.get(name)
        allowance = heartbeat_allowance(interval)
        if at is None:
            parts.append(PartStatus(name, False, f"no {job} has run yet", critical=False))
            continue
        age = (now - at).total_seconds()
        ok = now - at <= allowance
        detail = f"last {job} {age:.0f} s ago at {at.isoformat()} (down after {allowance})"
        if not ok:
            logger.warning("health check: the %s is down: %s", name, detail)
        parts.append(PartStatus(name, ok, detail, critical=False))
    return parts


def check_all() -> list[PartStatus]:
    parts = [check_database(), check_broker(), *check_heartbeats()]
    for check in _CHECKS:
        try:
            part = check()
        except Exception as exc:  # a broken check must not take /healthz down
            logger.exception("health check %s raised", getattr(check, "__name__", check))
            part = PartStatus(getattr(check, "__name__", "check"), False, str(exc), critical=False)
        if part is not None:
            parts.append(part)
    return parts


def health_report(parts: list[PartStatus], *, detailed: bool) -> dict[str, Any]:
    """The /healthz body: status, the parts down and degraded; each part's detail if ``detailed``.

    ``status`` is ``down`` when a critical part is down (answered 503),
    ``degraded`` when only a cluster part is (answered 200), else ``ok``;
    ``down`` names the critical parts that are down, ``degraded`` the others.
    """
    down = [part.name for part in parts if not part.ok and part.critical]
    degraded = [part.name for part in parts if not part.ok and not part.critical]
    return {
        "status": "down" if down else "degraded" if degraded else "ok",
        "down": down,
        "degraded": degraded,
        "parts": {
            part.name: {"ok": part.ok, **({"detail": part.detail} if detailed else {})}
            for part in parts
        },
    }
