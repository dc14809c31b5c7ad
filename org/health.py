"""Liveness of the parts Wedge depends on, for /healthz."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from kombu import Connection


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    detail: str


def check_database() -> PartStatus:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return PartStatus("database", False, f"{type(exc).__name__}: {exc}".strip())
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
        return PartStatus("broker", False, f"{type(exc).__name__}: {exc}".strip())
    return PartStatus("broker", True, str(transport))


def check_all() -> list[PartStatus]:
    return [check_database(), check_broker()]
