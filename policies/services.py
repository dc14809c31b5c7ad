"""Writes of policy versions: propose, approve, reject, withdraw. Each one audited.

Every service runs in one transaction, locks what it changes, re-checks the
rules under the lock and appends its audit event (WDG-511 ... WDG-514) in the
same transaction. Four eyes: the proposer never decides on their own
proposal (checked here and held by a database constraint).

Decisions the policy leaves open:

* Several changes may be under review at once. Each is judged against the
  latest approved version when it is proposed (and records which); the
  version in force is the approved one that took effect last.
* A proposal names the thresholds it changes; the others are the latest
  approved version's. The floor is version 1 (``thresholds.FLOOR``): a
  version may tighten any threshold, and loosen one back towards version 1,
  never beyond it.
* The effective time may not be in the past when proposed, nor before the
  latest approved version's. An approval that comes after the effective time
  moves it to the moment of approval, so no version is ever in force,
  after the fact, at a moment when it was not yet approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from org.models import User
from policies import errors, rules
from policies.errors import FieldError, NotAllowed, PolicyVersionInvalid, PolicyVersionRefused
from policies.models import PolicyVersion, Status
from wedges.policy.thresholds import FIELDS, FLOOR, changes, check_thresholds

MAX_RATIONALE = 4000


def _require_lead(actor: User, action: str) -> None:
    if not rules.is_section_lead(actor):
        raise NotAllowed(
            errors.NOT_A_SECTION_LEAD, f"Only section leads may {action} policy versions."
        )


def _text(name: str, value: object, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise PolicyVersionInvalid(
            [FieldError(name, errors.BLANK, f"Give the {name}: why the policy should change.")]
        )
    if len(text) > MAX_RATIONALE:
        raise PolicyVersionInvalid(
            [
                FieldError(
                    name, errors.TOO_LONG, f"The {name} is at most {MAX_RATIONALE} characters."
                )
            ]
        )
    return text


def policy_version_propose(
    *,
    actor: User,
    values: Mapping[str, object],
    rationale: str,
    effective_at: datetime | None,
    now: datetime | None = None,
) -> PolicyVersion:
    """A section lead proposes new thresholds; the version waits for another lead's review.

    ``values`` holds the thresholds that change (the rest are the latest
    approved version's); every problem is reported at once, each with its
    field (``loosens_policy`` for a threshold looser than version 1).
    """
    _require_lead(actor, "propose")
    now = now or timezone.now()
    with transaction.atomic():
        # The latest version's row, locked: concurrent proposals queue here, so
        # each takes the next number.
        latest = PolicyVersion.objects.select_for_update().order_by("-number").first()
        base_version = (
            PolicyVersion.objects.filter(status=Status.APPROVED)
            .order_by("-effective_at", "-number")
            .first()
        )
        base = base_version.thresholds if base_version is not None else FLOOR
        problems: list[FieldError] = []
        thresholds, issues = check_thresholds(values, base=base, floor=FLOOR)
        problems.extend(FieldError(i.field, i.code, i.message) for i in issues)
        problems.extend(_effective_problems(effective_at, now, base_version))
        text = rationale.strip() if isinstance(rationale, str) else ""
        if not text:
            problems.append(
                FieldError(
                    "rationale", errors.BLANK, "Give the rationale: why the policy should change."
                )
            )
        elif len(text) > MAX_RATIONALE:
            problems.append(
                FieldError(
                    "rationale",
                    errors.TOO_LONG,
                    f"The rationale is at most {MAX_RATIONALE} characters.",
                )
            )
        if problems or thresholds is None or effective_at is None:
            raise PolicyVersionInvalid(problems)
        version = PolicyVersion.objects.create(
            number=(latest.number + 1) if latest is not None else 1,
            **thresholds.to_dict(),
            rationale=text,
            effective_at=effective_at,
            proposed_by=actor,
            proposed_at=now,
        )
        record_event(
            code=EventCode.POLICY_VERSION_PROPOSED,
            actor=actor,
            reason=text,
            data={
                "policy_version": version.number,
                "effective_at": effective_at,
                "changes": _changes(base, version),
                "based_on": base_version.number if base_version is not None else None,
            },
            occurred_at=now,
        )
    return version


def _effective_problems(
    effective_at: datetime | None, now: datetime, base: PolicyVersion | None
) -> list[FieldError]:
    if effective_at is None:
        return [
            FieldError("effective_at", errors.REQUIRED, "Give the time the version takes effect.")
        ]
    if timezone.is_naive(effective_at):
        return [FieldError("effective_at", errors.NOT_AWARE, "Give the time with its time zone.")]
    if effective_at < now:
        return [
            FieldError(
                "effective_at",
                errors.IN_PAST,
                "A policy version cannot take effect in the past; give a time from now on.",
            )
        ]
    if base is not None and effective_at < base.effective_at:
        return [
            FieldError(
                "effective_at",
                errors.BEFORE_IN_FORCE,
                f"Policy version {base.number} takes effect at "
                f"{base.effective_at:%Y-%m-%d %H:%M} UTC; a later version cannot take effect "
                "before it.",
            )
        ]
    return []


def _changes(base: Any, version: PolicyVersion) -> dict[str, dict[str, Any]]:
    return {
        name: {"from": before, "to": after}
        for name, (before, after) in changes(base, version.thresholds).items()
    }


def _locked(version: PolicyVersion) -> PolicyVersion:
    return (
        PolicyVersion.objects.select_for_update(of=("self",))
        .select_related("proposed_by", "decided_by")
        .get(pk=version.pk)
    )


def _require_under_review(version: PolicyVersion) -> None:
    if version.status != Status.PROPOSED:
        raise PolicyVersionRefused(
            errors.NOT_UNDER_REVIEW,
            f"Policy version {version.number} is {version.get_status_display().lower()}; "
            "only a version under review can be decided.",
        )


def _require_other_lead(version: PolicyVersion, actor: User, action: str) -> None:
    if version.proposed_by_id == actor.pk:
        raise PolicyVersionRefused(
            errors.SELF_APPROVAL,
            f"You proposed policy version {version.number}; another section lead must {action} it.",
        )


def policy_version_approve(
    *, version: PolicyVersion, actor: User, reason: str = "", now: datetime | None = None
) -> PolicyVersion:
    """Another section lead approves: the version is in force from its effective time.

    Approved after its effective time, it takes effect at the approval.
    """
    _require_lead(actor, "approve")
    now = now or timezone.now()
    note = _text("reason", reason, required=False)
    with transaction.atomic():
        locked = _locked(version)
        _require_under_review(locked)
        _require_other_lead(locked, actor, "approve")
        base = (
            PolicyVersion.objects.filter(status=Status.APPROVED)
            .order_by("-effective_at", "-number")
            .first()
        )
        proposed_effective = locked.effective_at
        # Never in force before its approval, nor before the version it follows.
        locked.effective_at = max(
            locked.effective_at, now, base.effective_at if base else locked.effective_at
        )
        locked.approve(by=actor, now=now, reason=note)
        locked.save()
        record_event(
            code=EventCode.POLICY_VERSION_APPROVED,
            actor=actor,
            reason=note,
            data={
                "policy_version": locked.number,
                "proposed_by": locked.proposed_by.username if locked.proposed_by else None,
                "effective_at": locked.effective_at,
                "effective_moved": locked.effective_at != proposed_effective,
                "changes": _changes(base.thresholds if base else FLOOR, locked),
            },
            occurred_at=now,
        )
    return locked


def policy_version_reject(
    *, version: PolicyVersion, actor: User, reason: str, now: datetime | None = None
) -> PolicyVersion:
    """Another section lead rejects, with a reason; the version never takes effect."""
    _require_lead(actor, "reject")
    now = now or timezone.now()
    note = _text("reason", reason, required=True)
    with transaction.atomic():
        locked = _locked(version)
        _require_under_review(locked)
        _require_other_lead(locked, actor, "reject")
        locked.reject(by=actor, now=now, reason=note)
        locked.save()
        record_event(
            code=EventCode.POLICY_VERSION_REJECTED,
            actor=actor,
            reason=note,
            data={"policy_version": locked.number},
            occurred_at=now,
        )
    return locked


def policy_version_withdraw(
    *, version: PolicyVersion, actor: User, reason: str = "", now: datetime | None = None
) -> PolicyVersion:
    """The proposer takes the proposal back; it never takes effect."""
    now = now or timezone.now()
    note = _text("reason", reason, required=False)
    with transaction.atomic():
        locked = _locked(version)
        if locked.proposed_by_id != actor.pk:
            raise NotAllowed(
                errors.NOT_THE_PROPOSER,
                f"Only the section lead who proposed policy version {locked.number} may "
                "withdraw it.",
            )
        _require_under_review(locked)
        locked.withdraw(by=actor, now=now, reason=note)
        locked.save()
        record_event(
            code=EventCode.POLICY_VERSION_WITHDRAWN,
            actor=actor,
            reason=note,
            data={"policy_version": locked.number},
            occurred_at=now,
        )
    return locked


__all__ = [
    "FIELDS",
    "policy_version_approve",
    "policy_version_propose",
    "policy_version_reject",
    "policy_version_withdraw",
]
