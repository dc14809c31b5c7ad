"""Verification of the audit chain (``manage.py verify_audit``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.anchors import Anchor
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
class AnchorMismatch:
    """An anchor the chain no longer agrees with."""

    anchor: Anchor
    found: str | None  # the hash the chain now has at the anchor's id; None: no such row

    def describe(self) -> str:
        if self.found is None:
            return (
                f"{self.anchor.describe()}: event id={self.anchor.id} is not in the chain "
                "(removed, or the chain was cut short or rewritten before it)"
            )
        return (
            f"{self.anchor.describe()}: event id={self.anchor.id} now has hash {self.found} "
            "(the chain was rewritten at or before this event, every later hash recomputed)"
        )


@dataclass(frozen=True)
class ChainReport:
    verified: int  # rows checked and found sound, before any break
    head: str  # hash of the last sound row (GENESIS_HASH when there is none)
    broken: ChainBreak | None = None
    anchor_found: bool | None = None  # None when no anchor was asked for
    anchors_checked: int = 0
    anchor_mismatches: tuple[AnchorMismatch, ...] = ()

    @property
    def ok(self) -> bool:
        """The chain links up; anchors are reported apart (``anchor_mismatches``)."""
        return self.broken is None


def verify_chain(
    *,
    using: str = "default",
    chunk_size: int = CHUNK_SIZE,
    anchor: str | None = None,
    anchors: Iterable[Anchor] = (),
) -> ChainReport:
    """Recompute every row's hash in id order; stop at the first broken row.

    A chain cut short at its end (or emptied), or rewritten from some row on
    with every later hash recomputed, is still a sound chain. To catch that,
    keep heads from earlier somewhere else: ``anchor`` (a hash) is looked
    for anywhere in the chain (``anchor_found``); each of ``anchors`` (id and
    hash, ``audit.anchors``) must be the row with its id, or it is reported
    in ``anchor_mismatches``. Anchors past a break are not checked.
    """
    pending: dict[int, list[Anchor]] = {}
    for item in anchors:
        pending.setdefault(item.id, []).append(item)
    checked = sum(len(items) for items in pending.values())
    mismatches: list[AnchorMismatch] = []
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
        for item in pending.pop(row["id"], ()):
            if item.hash != previous:
                mismatches.append(AnchorMismatch(item, previous))
    mismatches += [AnchorMismatch(item, None) for items in pending.values() for item in items]
    mismatches.sort(key=lambda mismatch: (mismatch.anchor.id, mismatch.anchor.line or 0))
    return ChainReport(
        verified,
        previous,
        anchor_found=found,
        anchors_checked=checked,
        anchor_mismatches=tuple(mismatches),
    )
