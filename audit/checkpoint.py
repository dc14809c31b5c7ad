"""How far the audit chain is known to be sound, for the audit page, without re-hashing it.

``verify_chain`` recomputes every row: right for ``manage.py verify_audit`` and
the periodic full check, far too slow for a page view at 100,000 rows. So the
result is kept as a checkpoint (the last row found sound, and its hash) in the
cache, and a page view only verifies the rows added since, at most
``PAGE_BUDGET`` of them, continuing from the checkpoint's hash: a row that does
not link to the one before it, or whose fields do not hash to its stored hash,
is caught as it would be by the full check. Rows before the checkpoint were
verified when it was set; the full check (beat, every
``WEDGE_AUDIT_VERIFY_SECONDS``) re-verifies them all and resets the
checkpoint, so a row changed behind the database's back is caught there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from audit.chain import ChainBreak, ChainReport, verify_chain
from audit.hashing import GENESIS_HASH, HASHED_FIELDS, compute_hash
from audit.models import AuditEvent

KEY = "audit:chain:checkpoint:v1:{database}"
PAGE_BUDGET = 2000
# Long enough to outlive any gap between full checks; the full check rewrites it.
TIMEOUT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ChainState:
    """What the audit page says about the chain."""

    verified_through: int | None  # id of the newest row verified sound; None: none yet
    head_hash: str
    unverified: int  # newer rows not verified yet (beyond this view's budget)
    broken: ChainBreak | None
    checked_at: dt.datetime
    full_check_at: dt.datetime | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _key() -> str:
    # One checkpoint per database: several installations, or test databases,
    # may share one cache.
    return KEY.format(database=connection.settings_dict["NAME"])


def _genesis() -> dict[str, Any]:
    return {"id": 0, "hash": GENESIS_HASH, "full_check_at": None, "broken": None}


def _load() -> dict[str, Any]:
    """The stored checkpoint, if the chain still has its row; else the chain's start.

    A checkpoint whose row is gone, or has another hash, belongs to another
    state of the database (a restore, a re-created database): verification
    starts again from the first row, as the full check would.
    """
    stored = cache.get(_key())
    if not isinstance(stored, dict) or not {"id", "hash"} <= stored.keys():
        return _genesis()
    if (
        stored["id"]
        and not AuditEvent.objects.filter(id=stored["id"], hash=stored["hash"]).exists()
    ):
        return _genesis()
    return stored


def _save(checkpoint: dict[str, Any]) -> None:
    cache.set(_key(), checkpoint, TIMEOUT_SECONDS)


def _break(raw: Any) -> ChainBreak | None:
    return ChainBreak(**raw) if isinstance(raw, dict) else None


def chain_state(*, budget: int = PAGE_BUDGET, now: dt.datetime | None = None) -> ChainState:
    """Verify the rows added since the checkpoint (at most ``budget``) and say how far it holds.

    Three queries: the checkpoint's row, the rows since, and how many the
    budget left for later.
    """
    now = now or timezone.now()
    checkpoint = _load()
    broken = _break(checkpoint.get("broken"))
    if broken is None:
        last_id, previous = int(checkpoint["id"]), str(checkpoint["hash"])
        rows = list(
            AuditEvent.objects.filter(id__gt=last_id)
            .order_by("id")
            .values(*HASHED_FIELDS, "hash")[:budget]
        )
        for row in rows:
            if row["prev_hash"] != previous:
                broken = ChainBreak(row["id"], row["code"], "prev_hash", row["prev_hash"], previous)
                break
            expected = compute_hash(row)
            if row["hash"] != expected:
                broken = ChainBreak(row["id"], row["code"], "hash", row["hash"], expected)
                break
            last_id, previous = row["id"], row["hash"]
        checkpoint.update(id=last_id, hash=previous, broken=asdict(broken) if broken else None)
        _save(checkpoint)
    last = int(checkpoint["id"])
    unverified = AuditEvent.objects.filter(id__gt=last).count() if broken is None else 0
    full = checkpoint.get("full_check_at")
    return ChainState(
        verified_through=last or None,
        head_hash=str(checkpoint["hash"]),
        unverified=unverified,
        broken=broken,
        checked_at=now,
        full_check_at=dt.datetime.fromisoformat(full) if isinstance(full, str) else None,
    )


def record_full_check(report: ChainReport, *, now: dt.datetime | None = None) -> None:
    """Reset the checkpoint from a full verification (``verify_chain``)."""
    now = now or timezone.now()
    last = 0
    if report.verified:
        found = AuditEvent.objects.filter(hash=report.head).values_list("id", flat=True).first()
        last = found or 0
    _save(
        {
            "id": last,
            "hash": report.head,
            "broken": asdict(report.broken) if report.broken else None,
            "full_check_at": now.isoformat(),
        }
    )


def full_check(*, now: dt.datetime | None = None) -> ChainReport:
    """Verify the whole chain and reset the checkpoint from the result."""
    report = verify_chain()
    record_full_check(report, now=now)
    return report
