"""Verification of the audit chain (``manage.py verify_audit``)."""

from __future__ import annotations

from dataclasses import dataclass

from audit.hashing import GENESIS_HASH, HASHED_FIELDS, compute_hash
from audit.models import AuditEvent

# Rows fetched per round trip; the verifier holds one chunk at a time, so a
# million rows never sit in memory.
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ChainBreak:
    """The first row whose stored values do not fit the chain."""

    id: int
    code: str
    problem: str  # "prev_hash" (link to the previous row broken) or "hash" (row altered)
    stored: str
    expected: str

    def describe(self) -> str:
        if self.problem == "prev_hash":
            return (
                f"event id={self.id} ({self.code}): link broken, prev_hash is {self.stored} "
                f"but the previous row's hash is {self.expected} "
                "(a row before it was removed, inserted or re-hashed)"
            )
        return (
            f"event id={self.id} ({self.code}): row altered, stored hash {self.stored} "
            f"but its fields hash to {self.expected}"
        )


@dataclass(frozen=True)
class ChainReport:
    verified: int  # rows checked and found sound, before any break
    head: str  # hash of the last sound row (GENESIS_HASH when there is none)
    broken: ChainBreak | None = None
    anchor_found: bool | None = None  # None when no anchor was asked for

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(
    *, using: str = "default", chunk_size: int = CHUNK_SIZE, anchor: str | None = None
) -> ChainReport:
    """Recompute every row's hash in id order; stop at the first broken row.

    A chain cut short at its end (or emptied) is still a sound chain. To catch
    that, keep a head hash from an earlier run somewhere else and pass it as
    ``anchor``: ``anchor_found`` says whether it is still in the sound chain.
    """
    rows = (
        AuditEvent.objects.using(using)
        .order_by("id")
        .values(*HASHED_FIELDS, "hash")
        .iterator(chunk_size=chunk_size)
    )
    previous = GENESIS_HASH
    verified = 0
    found = None if anchor is None else anchor == GENESIS_HASH
    for row in rows:
        if row["prev_hash"] != previous:
            return ChainReport(
                verified,
                previous,
                ChainBreak(row["id"], row["code"], "prev_hash", row["prev_hash"], previous),
            )
        expected = compute_hash(row)
        if row["hash"] != expected:
            return ChainReport(
                verified,
                previous,
                ChainBreak(row["id"], row["code"], "hash", row["hash"], expected),
            )
        previous = row["hash"]
        verified += 1
        if anchor is not None and previous == anchor:
            found = True
    return ChainReport(verified, previous, anchor_found=found)
