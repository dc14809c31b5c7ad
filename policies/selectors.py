"""Reads of policy versions that the engine, the pages, the API and the report share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from policies.models import PolicyVersion, Status
from wedges.policy.thresholds import FIELDS, FLOOR, Thresholds, changes


def versions() -> QuerySet[PolicyVersion]:
    """Every version, newest number first, with the people named on it."""
    return PolicyVersion.objects.select_related("proposed_by", "decided_by").order_by("-number")


def in_force(at: datetime) -> PolicyVersion | None:
    """The version in force at ``at``: of the approved versions whose effective time is at
    or before ``at``, the one that took effect last (the higher number on a tie);
    ``None`` only if version 1 was never created."""
    return (
        PolicyVersion.objects.filter(status=Status.APPROVED, effective_at__lte=at)
        .order_by("-effective_at", "-number")
        .first()
    )


def thresholds_in_force(at: datetime) -> tuple[PolicyVersion | None, Thresholds]:
    """The version in force at ``at`` and its thresholds (version 1's if there is none)."""
    version = in_force(at)
    return version, version.thresholds if version is not None else FLOOR


def thresholds_of(version: PolicyVersion | None) -> Thresholds:
    """A version's thresholds; the policy as written (version 1) for ``None``."""
    return version.thresholds if version is not None else FLOOR


# A version's thresholds never change once it is proposed (the services write them
# once; the admin shows them read-only), so each is read from the database once per
# process: a page of many wedges does not read its version once per wedge.
_THRESHOLDS: dict[int, Thresholds] = {}


def thresholds_by_id(version_id: int | None) -> Thresholds:
    """The thresholds of the version with primary key ``version_id`` (version 1's for ``None``)."""
    if version_id is None:
        return FLOOR
    known = _THRESHOLDS.get(version_id)
    if known is None:
        version = PolicyVersion.objects.filter(pk=version_id).first()
        if version is None:
            return FLOOR
        known = _THRESHOLDS[version_id] = version.thresholds
    return known


def under_review() -> QuerySet[PolicyVersion]:
    return versions().filter(status=Status.PROPOSED)


def latest_approved() -> PolicyVersion | None:
    """The approved version that takes effect last, in force yet or not."""
    return (
        PolicyVersion.objects.filter(status=Status.APPROVED)
        .order_by("-effective_at", "-number")
        .first()
    )


@dataclass(frozen=True)
class Change:
    """One threshold a version changes: its name, before and after."""

    field: str
    before: Any
    after: Any


def changes_of(
    version: PolicyVersion, all_versions: list[PolicyVersion] | None = None
) -> list[Change]:
    """What ``version`` changes against the approved version before it (by number).

    A proposal is compared with the latest approved version numbered below it
    (what it was proposed against); version 1 changes nothing.
    """
    pool = all_versions if all_versions is not None else list(versions())
    previous = next(
        (
            other
            for other in sorted(pool, key=lambda v: -v.number)
            if other.number < version.number and other.status == Status.APPROVED
        ),
        None,
    )
    if previous is None:
        return []
    return [
        Change(name, before, after)
        for name, (before, after) in changes(previous.thresholds, version.thresholds).items()
    ]


def values(version: PolicyVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in FIELDS}
