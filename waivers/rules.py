"""The rules of waivers, decided in one place: their states, the 90-day cap, four eyes.

The states, the approval slots and the duration cap are defined here, not in
``waivers.models``: the models enforce them (the check constraint on
``duration_days``, the transitions' sources) and so depend on this module,
which needs the models for type hints only.

``vote_role`` is pure: it gets the facts about a vote and answers with the
approval slot the vote fills, or raises the refusal. The services call it
under the waiver's row lock; the pages call it (through ``allowed_actions``)
only to decide which forms to show.

Approval slots go by role, never by the superuser flag
(``access.can_review_waivers``): an administrator fills the lead's slot only
as a section lead of the owning section, the reviewer's only as a reviewer
(or a lead). For a standing waiver, an approval does not count for the
approver's own proposals: it never covers them (``services._cover`` and
``selectors.active_standing_waiver``), the same four eyes that refuse the
author's approval of a proposal waiver (``AUTHOR_APPROVAL``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from django.db import models

from org import access
from org.access import AnyUser
from waivers import errors
from waivers.errors import NotAllowed, WaiverRuleError

if TYPE_CHECKING:
    from waivers.models import WaiverApproval, WaiverRequest


class WaiverState(models.TextChoices):
    REQUESTED = "REQUESTED", "Requested"
    # One of the two approvals is in; reads better than a vote counter on REQUESTED.
    PARTIALLY_APPROVED = "PARTIALLY_APPROVED", "Awaiting second approval"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    EXPIRED = "EXPIRED", "Expired"
    REVOKED = "REVOKED", "Revoked"


class ApprovalRole(models.TextChoices):
    LEAD = "lead", "Section lead"
    REVIEWER = "reviewer", "Additional reviewer"


OPEN_STATES: Final = frozenset({WaiverState.REQUESTED, WaiverState.PARTIALLY_APPROVED})
REVOCABLE_STATES: Final = frozenset({*OPEN_STATES, WaiverState.APPROVED})

# --- Duration ---------------------------------------------------------------------------------

# An approved waiver runs at most this many days (docs/policy.md, "Waivers").
MAX_WAIVER_DAYS: Final = 90
DURATION_HELP: Final = f"1 to {MAX_WAIVER_DAYS} days, counted from the second approval."
DURATION_OUT_OF_RANGE: Final = f"A waiver lasts 1 to {MAX_WAIVER_DAYS} days from its approval."


def duration_allowed(duration_days: object, most: int = MAX_WAIVER_DAYS) -> bool:
    """Whether a request may ask for ``duration_days`` (a whole number, 1 to the cap).

    ``most`` is the cap of the policy version in force (``policies``); it only
    ever tightens version 1's ``MAX_WAIVER_DAYS``, which the database holds.
    """
    return (
        isinstance(duration_days, int)
        and not isinstance(duration_days, bool)
        and 1 <= duration_days <= min(most, MAX_WAIVER_DAYS)
    )


def duration_out_of_range(most: int = MAX_WAIVER_DAYS) -> str:
    return f"A waiver lasts 1 to {most} days from its approval."


def expiry(approved_at: datetime, duration_days: int) -> datetime:
    """When a waiver approved at ``approved_at`` expires.

    ``duration_days`` never exceeds the cap: the request is refused otherwise
    (``duration_allowed``) and the database's check constraint holds it.
    """
    return approved_at + timedelta(days=duration_days)


# --- Votes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteFacts:
    """What decides whether a person may approve (or reject) a waiver now."""

    waiver_id: int
    state: str
    section_name: str
    may_review: bool  # holds org.review_waivers
    is_section_lead: bool  # a lead of the section that owns the subsystem
    is_requester: bool
    is_proposal_author: bool
    voted: bool
    taken_roles: frozenset[str]


def vote_role(facts: VoteFacts, *, action: str = "approve") -> ApprovalRole:
    """The slot this vote fills, or the refusal.

    A lead of the owning section fills the lead slot while it is free and the
    reviewer slot otherwise; anyone else who may review fills only the
    reviewer slot. A rejection is a vote too: whoever could not approve the
    waiver now cannot reject it either.
    """
    if not facts.may_review:
        raise NotAllowed(
            errors.NOT_A_REVIEWER, f"Only section leads and reviewers may {action} waivers."
        )
    if facts.state not in OPEN_STATES:
        raise WaiverRuleError(errors.WAIVER_CLOSED, closed_message(facts, action))
    if facts.is_requester:
        raise WaiverRuleError(
            errors.SELF_APPROVAL,
            f"You requested waiver #{facts.waiver_id}; two other people must decide on it.",
        )
    if facts.is_proposal_author:
        raise WaiverRuleError(
            errors.AUTHOR_APPROVAL,
            f"You wrote the proposal waiver #{facts.waiver_id} covers; "
            "two other people must decide on it.",
        )
    if facts.voted:
        raise WaiverRuleError(
            errors.ALREADY_VOTED,
            f"You have already approved waiver #{facts.waiver_id}; "
            "the second approval must come from someone else.",
        )
    if facts.is_section_lead and ApprovalRole.LEAD not in facts.taken_roles:
        return ApprovalRole.LEAD
    if ApprovalRole.REVIEWER not in facts.taken_roles:
        return ApprovalRole.REVIEWER
    raise WaiverRuleError(
        errors.LEAD_APPROVAL_REQUIRED,
        f"Waiver #{facts.waiver_id} still needs the approval of a lead of the "
        f"{facts.section_name} section; you are not one, so you cannot {action} it.",
    )


def closed_message(facts: VoteFacts, action: str) -> str:
    verb = {
        WaiverState.APPROVED: "is already approved",
        WaiverState.REJECTED: "was rejected",
        WaiverState.EXPIRED: "has expired",
        WaiverState.REVOKED: "was revoked",
    }.get(WaiverState(facts.state), f"is {facts.state}")
    return f"Waiver #{facts.waiver_id} {verb}; it can no longer be {action}d."


def vote_facts(
    waiver: WaiverRequest, user: AnyUser, approvals: Iterable[WaiverApproval]
) -> VoteFacts:
    """Gather the facts for ``vote_role`` (one query: the section's leads)."""
    approvals = list(approvals)
    section = waiver.subsystem.section
    proposal = waiver.proposal
    return VoteFacts(
        waiver_id=waiver.pk,
        state=waiver.state,
        section_name=section.name,
        may_review=access.can_review_waivers(user),
        is_section_lead=access.is_lead_of(user, section),
        is_requester=waiver.requester_id == user.pk,
        is_proposal_author=proposal is not None and proposal.author_id == user.pk,
        voted=any(approval.approver_id == user.pk for approval in approvals),
        taken_roles=frozenset(approval.role for approval in approvals),
    )


def require_reviewer(user: AnyUser, action: str) -> None:
    """Raise ``NotAllowed`` unless ``user`` may take part in waiver decisions at all."""
    if not access.can_review_waivers(user):
        raise NotAllowed(
            errors.NOT_A_REVIEWER, f"Only section leads and reviewers may {action} waivers."
        )


def require_revoker(waiver: WaiverRequest, user: AnyUser) -> None:
    """Raise ``NotAllowed`` unless ``user`` leads the waiver's section or is an admin."""
    allowed = user.is_authenticated and (
        user.is_superuser or access.is_lead_of(user, waiver.subsystem.section)
    )
    if not allowed:
        raise NotAllowed(
            errors.NOT_ALLOWED_TO_REVOKE,
            f"Only a lead of the {waiver.subsystem.section.name} section or an administrator "
            "may revoke this waiver.",
        )


def check_revoke(waiver: WaiverRequest, user: AnyUser) -> None:
    """Raise unless ``user`` may revoke ``waiver`` now."""
    require_revoker(waiver, user)
    if waiver.state not in REVOCABLE_STATES:
        raise WaiverRuleError(
            errors.WAIVER_CLOSED,
            f"Waiver #{waiver.pk} is already {waiver.get_state_display().lower()}; "
            "there is nothing left to revoke.",
        )


@dataclass(frozen=True)
class AllowedActions:
    """Which forms the waiver page shows to a user (the services check again)."""

    approve: bool
    reject: bool
    revoke: bool
    approve_as: ApprovalRole | None


def allowed_actions(
    waiver: WaiverRequest, user: AnyUser, approvals: Iterable[WaiverApproval]
) -> AllowedActions:
    role: ApprovalRole | None
    try:
        role = vote_role(vote_facts(waiver, user, approvals))
    except (NotAllowed, WaiverRuleError):
        role = None
    try:
        check_revoke(waiver, user)
        revoke = True
    except (NotAllowed, WaiverRuleError):
        revoke = False
    return AllowedActions(
        approve=role is not None, reject=role is not None, revoke=revoke, approve_as=role
    )
