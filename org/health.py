"""Liveness of the parts Wedge depends on, for /healthz.

The public answer names the parts and whether each is up; what went wrong
(driver errors can carry host names, ports or user names) goes to the log and
to signed-in staff only.

The database and the broker are critical: either down is ``"down"`` (503).
Apps above may register checks of their own parts (``register_check``); a
part that is not critical and fails makes the answer ``"degraded"``, still 200.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    detail: str
    critical: bool = True


# A check of another app's part; ``None`` when it has nothing to report.
PartCheck = Callable[[], PartStatus | None]
_CHECKS: list[PartCheck] = []


def register_check(check: PartCheck) -> None:
    """Have /healthz ask ``check`` too (apps register theirs in ``ready``)."""
    if check not in _CHECKS:
        _CHECKS.append(check)


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


def check_all() -> list[PartStatus]:
    parts = [check_database(), check_broker()]
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
    """The /healthz body: status, the parts that are down or degraded; details if ``detailed``."""
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
