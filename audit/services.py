"""The one way to write to the audit trail."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from typing import Any, Final

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit.codes import EventCode
from audit.hashing import GENESIS_HASH
from audit.models import AuditEvent
from org.models import User

SYSTEM_LABEL: Final = "system"
ANONYMOUS_LABEL: Final = "anonymous"

# The key of the PostgreSQL advisory lock that serialises chain writers
# ("WDGAUDIT" in ASCII, as a signed 64-bit integer).
CHAIN_LOCK_KEY: Final = 0x5744_4741_5544_4954

_CENT: Final = decimal.Decimal("0.01")


# Called with every event just written, inside its transaction: the apps above
# the audit trail register here (the webhooks app announces some events from
# it, ``webhooks.events``), so whatever they write commits or rolls back with
# the event.
Listener = Callable[[AuditEvent], None]
LISTENERS: list[Listener] = []


def register_listener(listener: Listener) -> None:
    """Have ``record_event`` call ``listener(event)`` after writing each event."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)


class AuditTransactionRequired(RuntimeError):
    """``record_event`` was called outside ``transaction.atomic()``."""


def record_event(
    *,
    code: EventCode | str,
    actor: User | None = None,
    proposal_id: int | None = None,
    waiver_id: int | None = None,
    stage_id: str = "",
    target_percentage: decimal.Decimal | float | int | str | None = None,
    metrics: dict[str, Any] | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Must run inside ``transaction.atomic()``: the event is then committed or
    rolled back together with the change it describes, and the chain lock is
    held until that transaction ends. ``actor`` is the user who acted, or
    ``None`` for the system; ``actor_label`` defaults to the actor's username
    (or ``"system"``). ``metrics`` and ``data`` must be JSON-serialisable
    (Decimals become floats, datetimes ISO strings); NaN and infinities are
    refused.

    Writers are serialised by a transaction-scoped lock (PostgreSQL advisory
    lock; SQLite's write lock), so concurrent writers append one after the
    other. Reading the head under that lock needs READ COMMITTED, Django's
    default; under a stricter isolation level a stale head makes the insert
    fail on the unique ``prev_hash`` instead of forking the chain.
    """
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise AuditTransactionRequired(
            "record_event() must be called inside transaction.atomic(), so the event "
            "commits or rolls back with the change it records."
        )
    event = AuditEvent(
        occurred_at=_aware(occurred_at or timezone.now()),
        code=EventCode(code).value,
        proposal_id=proposal_id,
        waiver_id=waiver_id,
        stage_id=stage_id,
        target_percentage=_percentage(target_percentage),
        actor=actor,
        actor_label=actor_label or (actor.username if actor is not None else SYSTEM_LABEL),
        metrics=_json_value(metrics or {}),
        reason=reason,
        data=_json_value(data or {}),
    )
    _lock_chain(connection)
    event.prev_hash, event.id = _head_hash_and_next_id(connection, alias)
    event.hash = event.compute_hash()
    event.save(force_insert=True, using=alias)
    for listener in LISTENERS:
        listener(event)
    return event


def _lock_chain(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the settings open every transaction with BEGIN IMMEDIATE, which
    # already holds the database's single write lock until commit.


def _head_hash_and_next_id(connection: BaseDatabaseWrapper, alias: str) -> tuple[str, int]:
    """The chain head's hash and the id of the row to append.

    Read under the chain lock: the newest row is then the head, because every
    writer inserts while holding the lock, and (READ COMMITTED) this statement
    sees whatever the previous holder committed before releasing it. The id
    is taken now because it is part of the hash.
    """
    table = AuditEvent._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One round trip for both; the lock is already held.
            cursor.execute(
                f"SELECT (SELECT hash FROM {table} ORDER BY id DESC LIMIT 1),"
                " nextval(pg_get_serial_sequence(%s, 'id'))",
                [table],
            )
            row = cursor.fetchone()
        assert row is not None
        return row[0] or GENESIS_HASH, int(row[1])
    head = AuditEvent.objects.using(alias).order_by("-id").values_list("hash", "id").first()
    # SQLite: rows are never deleted, so the newest id + 1 is free.
    return (head[0], head[1] + 1) if head else (GENESIS_HASH, 1)


def _aware(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        raise ValueError("occurred_at must be timezone-aware.")
    return value.astimezone(dt.UTC)


def _percentage(value: decimal.Decimal | float | int | str | None) -> decimal.Decimal | None:
    """Quantise to the column's two places, so the hashed value is the stored one."""
    if value is None:
        return None
    try:
        number = decimal.Decimal(str(value)).quantize(_CENT, rounding=decimal.ROUND_HALF_EVEN)
    except decimal.InvalidOperation:
        number = decimal.Decimal("NaN")
    if not number.is_finite() or not (0 <= number <= 100):
        raise ValueError(f"target_percentage must be a number from 0 to 100, got {value!r}.")
    return number


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable.")


def _json_value(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as the plain JSON it will be stored as (and hashed as)."""
    result: dict[str, Any] = json.loads(
        json.dumps(value, default=_json_default, allow_nan=False, ensure_ascii=False)
    )
    return result
