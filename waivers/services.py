"""Services that change waivers: each one transaction, locked, re-checked, audited.

Every service locks the waiver row (``select_for_update``), re-checks the
rules under that lock, writes its audit event in the same transaction and
queues its emails with ``transaction.on_commit``. The rules live here (and in
``waivers.rules``), not in the API or the forms, so every caller gets them.

Locks, to stay deadlock-free with the submission path and the engine:
the order is the waiver row, then the subsystem row (standing waivers only),
then proposal rows. Every lock is FOR NO KEY UPDATE (``no_key=True``): it
excludes the other services just as well, but not the key-share locks that
inserts referencing the row take (an approval row, a ``WaiverCoverage`` row),
so a transaction that already holds the audit chain lock is never stuck
behind one that waits for it. Requesting locks no proposal at all: the
database's ``one_open_request_per_proposal`` constraint settles a race.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from org import access
from org.models import Subsystem, User
from policies.selectors import thresholds_in_force
from waivers import errors, notifications, rules, selectors
from waivers.errors import FieldError, NotAllowed, WaiverInvalid, WaiverRuleError
from waivers.models import ApprovalRole, WaiverApproval, WaiverCoverage, WaiverRequest, WaiverState
from wedges.errors import RolloutRefused
from wedges.models import ChangeProposal, ChangeType, State
from wedges.policy.validation import waived_rules
from wedges.selectors import readable_proposals

logger = logging.getLogger(__name__)

# The code DRF gives an unknown id; an unreadable proposal gets the same answer.
UNKNOWN_PROPOSAL = "does_not_exist"
RATIONALE_MAX = 20_000
TEXT_MAX = 5_000  # comments and reasons


# --- Requesting -------------------------------------------------------------------------------


def unknown_proposal(pk: object) -> str:
    """What an unknown proposal id is answered, word for word as DRF answers one."""
    return f'Invalid pk "{pk}" - object does not exist.'


def waiver_request(
    *,
    requester: User,
    rationale: str,
    duration_days: int,
    proposal: ChangeProposal | None = None,
    subsystem: Subsystem | None = None,
    change_type: str | None = None,
) -> WaiverRequest:
    """File a waiver request for one proposal, or a standing one for subsystem + change type.

    Anyone who may submit proposals may request, and so may a proposal's
    author for that proposal. A proposal must be one the requester may read
    (otherwise it is answered as an unknown id: its existence is not told),
    need a waiver, not have started, not be covered by an active waiver
    already and have no other open request.
    """
    is_author = proposal is not None and proposal.author_id == requester.pk
    if not (access.can_submit(requester) or is_author):
        raise NotAllowed(
            errors.NOT_ALLOWED_TO_REQUEST,
            "Only engineers, or the author of the proposal, may request a waiver.",
        )
    rationale = _validate_request(
        rationale=rationale,
        duration_days=duration_days,
        proposal=proposal,
        readable=proposal is None or readable_proposals(requester).filter(pk=proposal.pk).exists(),
        subsystem=subsystem,
        change_type=change_type,
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            if proposal is not None:
                proposal = _proposal_for_request(proposal.pk, now)
                subsystem, change_type = proposal.subsystem, proposal.change_type
            assert subsystem is not None
            assert change_type is not None
            waiver = WaiverRequest.objects.create(
                requester=requester,
                rationale=rationale,
                proposal=proposal,
                subsystem=subsystem,
                change_type=change_type,
                duration_days=duration_days,
            )
            _record_request(waiver, requester, proposal, now)
    except IntegrityError:
        if proposal is None:
            raise
        # A concurrent request for the same proposal won; answer as if we had seen it.
        _proposal_for_request(proposal.pk, now)
        raise
    return waiver


def _record_request(
    waiver: WaiverRequest, requester: User, proposal: ChangeProposal | None, now: datetime
) -> None:
    record_event(
        code=EventCode.WAIVER_REQUESTED,
        actor=requester,
        waiver_id=waiver.pk,
        proposal_id=waiver.proposal_id,
        reason=waiver.rationale,
        data={
            **_scope_data(waiver),
            "duration_days": waiver.duration_days,
            "waivable_codes": proposal.waivable_codes if proposal is not None else [],
        },
        occurred_at=now,
    )
    notifications.queue(
        "requested",
        waiver=waiver,
        recipients=notifications.possible_approvers(waiver),
        actor=requester,
    )


def _validate_request(
    *,
    rationale: str,
    duration_days: int,
    proposal: ChangeProposal | None,
    readable: bool,
    subsystem: Subsystem | None,
    change_type: str | None,
) -> str:
    """Every input problem at once; returns the stripped rationale."""
    problems: list[FieldError] = []
    if proposal is not None and not readable:
        # The words and code of the API's answer for an id that does not exist.
        problems.append(FieldError("proposal", UNKNOWN_PROPOSAL, unknown_proposal(proposal.pk)))
    rationale = (rationale or "").strip()
    if not rationale:
        problems.append(FieldError("rationale", errors.BLANK, "Give the rationale for the waiver."))
    elif len(rationale) > RATIONALE_MAX:
        problems.append(
            FieldError(
                "rationale",
                errors.TOO_LONG,
                f"The rationale is longer than {RATIONALE_MAX} characters.",
            )
        )
    # The cap of the policy version in force when the waiver is asked for.
    most = thresholds_in_force(timezone.now())[1].max_waiver_days
    if not rules.duration_allowed(duration_days, most):
        problems.append(
            FieldError(
                "duration_days", errors.DURATION_OUT_OF_RANGE, rules.duration_out_of_range(most)
            )
        )
    standing = subsystem is not None or bool(change_type)
    if proposal is not None and standing:
        problems.append(
            FieldError(
                None,
                errors.SCOPE_AMBIGUOUS,
                "Give either a proposal, or a subsystem and a change type — not both.",
            )
        )
    elif proposal is None and not standing:
        problems.append(
            FieldError(
                None,
                errors.SCOPE_REQUIRED,
                "Give the scope: a proposal, or a subsystem and a change type.",
            )
        )
    elif proposal is None:
        if subsystem is None:
            problems.append(
                FieldError("subsystem", errors.REQUIRED, "A standing waiver needs a subsystem.")
            )
        if not change_type:
            problems.append(
                FieldError("change_type", errors.REQUIRED, "A standing waiver needs a change type.")
            )
        elif change_type not in ChangeType.values:
            problems.append(
                FieldError(
                    "change_type",
                    errors.INVALID_CHOICE,
                    f"change_type must be one of {', '.join(ChangeType.values)}.",
                )
            )
    if problems:
        raise WaiverInvalid(problems)
    return rationale


def _proposal_for_request(proposal_id: int, now: datetime) -> ChangeProposal:
    """The proposal, re-read, if a request may be filed for it now; the refusal otherwise."""
    proposal = ChangeProposal.objects.select_related(
        "rollout_wedge", "subsystem__section", "author", *selectors.COVER_JOINS
    ).get(pk=proposal_id)
    if proposal.rollout_wedge.wedge_state != State.PENDING:
        raise WaiverRuleError(
            errors.PROPOSAL_STARTED,
            f"Proposal #{proposal.pk} has already started; a waiver is only for what has not.",
        )
    if not proposal.waiver_required:
        raise WaiverRuleError(
            errors.WAIVER_NOT_NEEDED,
            f"Proposal #{proposal.pk} breaks no waivable rule; it needs no waiver.",
        )
    cover = selectors.covering_waiver(proposal)
    if cover is not None and cover.is_active_at(now):
        raise WaiverRuleError(
            errors.ALREADY_COVERED,
            f"Proposal #{proposal.pk} is already covered by waiver #{cover.pk}.",
        )
    pending = (
        WaiverRequest.objects.filter(proposal=proposal, state__in=rules.OPEN_STATES)
        .values_list("pk", flat=True)
        .first()
    )
    if pending is not None:
        raise WaiverRuleError(
            errors.REQUEST_PENDING,
            f"Waiver #{pending} for proposal #{proposal.pk} is still awaiting its approvals.",
        )
    return proposal


# --- Deciding ---------------------------------------------------------------------------------


def waiver_approve(
    *, waiver: WaiverRequest, approver: User, comment: str = "", now: datetime | None = None
) -> WaiverRequest:
    """Add ``approver``'s approval; the second one makes the waiver APPROVED and active.

    The vote takes the lead's slot when the approver leads the owning section
    and that slot is free, the reviewer's slot otherwise (``rules.vote_role``).
    On activation the waiver covers what it was for (``_cover``) and runs
    ``duration_days`` days from ``now`` (``rules.expiry``).
    """
    rules.require_reviewer(approver, "approve")
    comment = _text("comment", comment, required=False)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(waiver)
        # Votes are counted under the lock: a concurrent vote waits here and
        # then sees this one.
        approvals = list(locked.approvals.select_related("approver"))
        role = rules.vote_role(rules.vote_facts(locked, approver, approvals))
        approval = WaiverApproval.objects.create(
            waiver=locked, approver=approver, role=role, comment=comment
        )
        approvals.append(approval)
        record_event(
            code=EventCode.WAIVER_APPROVAL_GIVEN,
            actor=approver,
            waiver_id=locked.pk,
            proposal_id=locked.proposal_id,
            reason=comment,
            data={"role": role, "approvals": len(approvals)},
            occurred_at=now,
        )
        if len(approvals) == 1:
            locked.record_first_approval()
            locked.save()
            notifications.queue(
                "approval_given",
                waiver=locked,
                recipients=[*notifications.parties(locked), *_open_slot_candidates(locked)],
                actor=approver,
                approval=approval,
            )
            return locked
        locked.approve(now=now, expires_at=rules.expiry(now, locked.duration_days))
        locked.save()
        record_event(
            code=EventCode.WAIVER_APPROVED,
            actor=approver,
            waiver_id=locked.pk,
            proposal_id=locked.proposal_id,
            reason=comment,
            data={
                **_scope_data(locked),
                "approved_at": locked.approved_at,
                "expires_at": locked.expires_at,
                "approvers": {a.role: a.approver.username for a in approvals},
            },
            occurred_at=now,
        )
        covered = _cover(locked, now)
        notifications.queue(
            "approved",
            waiver=locked,
            recipients=notifications.parties(locked),
            actor=approver,
            covered=covered,
        )
    return locked


def waiver_reject(*, waiver: WaiverRequest, approver: User, reason: str) -> WaiverRequest:
    """Reject an open waiver with a reason.

    Whoever could approve the waiver now may reject it instead; a rejected
    waiver is closed for good (a new request starts over).
    """
    rules.require_reviewer(approver, "reject")

    def check(locked: WaiverRequest) -> None:
        approvals = list(locked.approvals.select_related("approver"))
        rules.vote_role(rules.vote_facts(locked, approver, approvals), action="reject")

    return _close(
        waiver,
        by=approver,
        reason=reason,
        check=check,
        transition=WaiverRequest.reject,
        code=EventCode.WAIVER_REJECTED,
        notice="rejected",
    )


def waiver_revoke(*, waiver: WaiverRequest, actor: User, reason: str) -> WaiverRequest:
    """Withdraw a waiver, open or active: a lead of its section, or an administrator.

    Proposals it covers keep their record of it (what lifted their rules),
    but one that has not started can no longer start: ``is_active_at`` is
    false from now on. Running rollouts are not touched.
    """
    rules.require_revoker(waiver, actor)
    return _close(
        waiver,
        by=actor,
        reason=reason,
        check=lambda locked: rules.check_revoke(locked, actor),
        transition=WaiverRequest.revoke,
        code=EventCode.WAIVER_REVOKED,
        notice="revoked",
        with_covered=True,
    )


def _close(
    waiver: WaiverRequest,
    *,
    by: User,
    reason: str,
    check: Callable[[WaiverRequest], None],
    transition: Callable[..., None],
    code: EventCode,
    notice: str,
    with_covered: bool = False,
) -> WaiverRequest:
    """Close ``waiver`` by a person's decision, with a reason: rejection and revocation.

    ``check`` re-checks the rules under the waiver's row lock; ``transition``
    is the model's transition; ``with_covered`` adds the covered proposals
    to the audit event.
    """
    reason = _text("reason", reason, required=True)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(waiver)
        check(locked)
        previous = locked.state
        transition(locked, now=now, by=by, reason=reason)
        locked.save()
        data: dict[str, Any] = {"previous_state": previous}
        if with_covered:
            data["covered_proposals"] = _covered_ids(locked)
        record_event(
            code=code,
            actor=by,
            waiver_id=locked.pk,
            proposal_id=locked.proposal_id,
            reason=reason,
            data=data,
            occurred_at=now,
        )
        notifications.queue(
            notice, waiver=locked, recipients=notifications.parties(locked), actor=by
        )
    return locked


# --- Expiry (Celery beat) ---------------------------------------------------------------------


def waivers_expire(*, now: datetime) -> int:
    """Expire every approved waiver whose ``expires_at`` is at or before ``now``.

    Idempotent and safe to run concurrently: each waiver is claimed under its
    row lock (skipping rows another run holds) and re-checked there, so two
    beats never expire one waiver twice. Each waiver is its own transaction,
    and one that fails is logged and left for the next run: it does not hold
    back the rest. Returns how many expired.
    """
    due = list(
        WaiverRequest.objects.filter(state=WaiverState.APPROVED, expires_at__lte=now)
        .order_by("expires_at", "id")
        .values_list("pk", flat=True)
    )
    expired = 0
    for pk in due:
        try:
            expired += _expire(pk, now)
        except Exception:
            logger.exception("Waiver #%s could not be expired; the next run tries again.", pk)
    return expired


def _expire(pk: int, now: datetime) -> int:
    """Expire one waiver if it is still due and no other run holds it; 1 if it expired."""
    with transaction.atomic():
        waiver = (
            WaiverRequest.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
            .select_related("requester", "subsystem__section", "proposal__author")
            .filter(pk=pk, state=WaiverState.APPROVED, expires_at__lte=now)
            .first()
        )
        if waiver is None:  # another run has it, or had it
            return 0
        waiver.expire(now=now)
        waiver.save()
        record_event(
            code=EventCode.WAIVER_EXPIRED,
            waiver_id=waiver.pk,
            proposal_id=waiver.proposal_id,
            reason=f"{waiver.duration_days} days after approval",
            data={"expires_at": waiver.expires_at, "covered_proposals": _covered_ids(waiver)},
            occurred_at=now,
        )
        notifications.queue("expired", waiver=waiver, recipients=notifications.parties(waiver))
    return 1


# --- Effect on proposals ----------------------------------------------------------------------


def apply_standing_waiver(*, proposal: ChangeProposal, now: datetime) -> WaiverRequest | None:
    """Cover a just-submitted proposal with the active standing waiver of its scope, if any.

    A standing waiver the proposal's author approved does not count
    (``selectors.active_standing_waiver``). Runs inside the submission's
    transaction (the ``proposal_submitted`` receiver). Returns the waiver
    applied, or ``None``.
    """
    if not proposal.waiver_required or selectors.covering_waiver(proposal) is not None:
        return None
    with transaction.atomic():
        # Serialises with a standing waiver being approved for this subsystem
        # (which takes the same lock before looking for proposals to cover):
        # whichever commits second sees the other, so no proposal slips
        # between "not yet approved" and "not yet submitted". NO KEY UPDATE
        # does not conflict with the key-share locks the inserts take.
        _lock_subsystem(proposal.subsystem_id)
        waiver = selectors.active_standing_waiver(
            subsystem_id=proposal.subsystem_id,
            change_type=proposal.change_type,
            author_id=proposal.author_id,
            now=now,
        )
        if waiver is None:
            return None
        _apply(waiver, proposal, now, actor=None)
    return waiver


def require_active_cover(proposal: ChangeProposal, now: datetime) -> dict[str, Any] | None:
    """Refuse to start a proposal that needs a waiver unless an active one covers it.

    A start check (``wedges.hooks``, registered in ``WaiversConfig.ready``):
    ``wedge_start`` calls it holding the wedge's row lock. It locks the
    covering waiver (wedge first, then waiver; the services here never lock
    a wedge) so a revocation or expiry cannot commit between this check and
    the start. Returns the waiver for the start's audit event.
    """
    if not proposal.waiver_required:
        return None
    waiver = (
        WaiverRequest.objects.select_for_update(of=("self",), no_key=True)
        .filter(coverages__proposal_id=proposal.pk)
        .first()
    )
    if waiver is None or not waiver.is_active_at(now):
        raise RolloutRefused(
            "waiver_required",
            "This proposal breaks rules that only a waiver can lift "
            f"({', '.join(proposal.waivable_codes)}); it cannot start until an active "
            "waiver covers it.",
        )
    return {"waiver": waiver.pk}


def _cover(waiver: WaiverRequest, now: datetime) -> list[int]:
    """What a waiver covers the moment it becomes APPROVED; returns the proposal ids.

    A proposal waiver covers its proposal. A standing waiver covers every
    proposal of its subsystem and change type that needs a waiver, has not
    started and has no active waiver — submitted before the request or since
    — except its approvers' own: an approval does not count for the
    approver's proposals (four eyes, as ``rules.vote_role`` refuses the
    author of a proposal waiver), so those stay waiting for another waiver.
    """
    if waiver.proposal_id is not None:
        candidates = ChangeProposal.objects.filter(pk=waiver.proposal_id)
    else:
        _lock_subsystem(waiver.subsystem_id)
        candidates = ChangeProposal.objects.filter(
            subsystem_id=waiver.subsystem_id, change_type=waiver.change_type
        ).exclude(author_id__in=waiver.approvals.values("approver_id"))
    covered = []
    for proposal in _lock_proposals(selectors.uncovered(candidates, now).order_by("id")):
        _apply(waiver, proposal, now, actor=None)
        covered.append(proposal.pk)
    return covered


def _apply(
    waiver: WaiverRequest, proposal: ChangeProposal, now: datetime, *, actor: User | None
) -> None:
    WaiverCoverage.objects.update_or_create(proposal=proposal, defaults={"waiver": waiver})
    notifications.proposal_startable(waiver, proposal)
    record_event(
        code=EventCode.WAIVER_APPLIED,
        actor=actor,
        proposal_id=proposal.pk,
        waiver_id=waiver.pk,
        reason=f"waiver #{waiver.pk} lifts {waived_rules(proposal.waivable_codes) or 'nothing'}",
        data={
            **_scope_data(waiver),
            "lifted": list(proposal.waivable_codes),
            "expires_at": waiver.expires_at,
        },
        occurred_at=now,
    )


# --- Helpers ----------------------------------------------------------------------------------


def _lock(waiver: WaiverRequest) -> WaiverRequest:
    """The waiver re-read under its row lock, with what the rules need."""
    return (
        WaiverRequest.objects.select_for_update(of=("self",), no_key=True)
        .select_related("requester", "subsystem__section", "proposal__author")
        .get(pk=waiver.pk)
    )


def _lock_proposals(queryset: QuerySet[ChangeProposal]) -> QuerySet[ChangeProposal]:
    return queryset.select_for_update(of=("self",), no_key=True).select_related(
        "rollout_wedge", "subsystem__section", "author"
    )


def _lock_subsystem(subsystem_id: int) -> None:
    list(Subsystem.objects.select_for_update(no_key=True).filter(pk=subsystem_id).values("pk"))


def _text(field: str, value: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise WaiverInvalid([FieldError(field, errors.BLANK, f"Give a {field}.")])
    if len(value) > TEXT_MAX:
        message = f"The {field} is longer than {TEXT_MAX} characters."
        raise WaiverInvalid([FieldError(field, errors.TOO_LONG, message)])
    return value


def _scope_data(waiver: WaiverRequest) -> dict[str, Any]:
    return {
        "scope": "standing" if waiver.is_standing else "proposal",
        "subsystem": waiver.subsystem.slug,
        "change_type": waiver.change_type,
    }


def _covered_ids(waiver: WaiverRequest) -> list[int]:
    return list(waiver.covered_proposals.order_by("id").values_list("id", flat=True))


def _open_slot_candidates(waiver: WaiverRequest) -> list[User]:
    """Who could give the missing approval (told that one approval is in)."""
    voters = set(waiver.approvals.values_list("approver_id", flat=True))
    taken = set(waiver.approvals.values_list("role", flat=True))
    people = notifications.possible_approvers(waiver)
    if ApprovalRole.LEAD in taken:
        return [person for person in people if person.pk not in voters]
    leads = set(waiver.subsystem.section.leads.values_list("pk", flat=True))
    return [person for person in people if person.pk in leads and person.pk not in voters]
