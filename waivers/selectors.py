"""Reads of waivers that the pages, the API and the services share (no N+1)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from audit.models import AuditEvent
from org import access
from org.access import AnyUser
from org.models import Section, User
from waivers.models import ApprovalRole, WaiverApproval, WaiverRequest, WaiverState
from waivers.rules import OPEN_STATES
from wedges.models import ChangeProposal, State


def waivers() -> QuerySet[WaiverRequest]:
    """Waivers with everything their pages and JSON show, in a fixed number of queries."""
    return WaiverRequest.objects.select_related(
        "requester", "subsystem__section", "proposal__author", "closed_by"
    ).prefetch_related(
        Prefetch(
            "approvals",
            queryset=WaiverApproval.objects.select_related("approver").order_by("created_at", "id"),
        ),
        Prefetch(
            "covered_proposals",
            queryset=ChangeProposal.objects.only("id", "title", "waiver_id").order_by("id"),
        ),
    )


def visible_waivers(user: AnyUser) -> QuerySet[WaiverRequest]:
    """The waivers ``user`` may read.

    Holders of ``org.view_all`` (operators, leads, reviewers, auditors) read
    every waiver; everyone else the waivers they requested and those that
    concern their own proposals (requested for one, or covering one).
    """
    queryset = waivers()
    if not user.is_authenticated:
        return queryset.none()
    if access.can_view_all(user):
        return queryset
    # Exists() rather than joins: no duplicate rows, so no DISTINCT needed.
    covers_own = Exists(ChangeProposal.objects.filter(waiver=OuterRef("pk"), author_id=user.pk))
    return queryset.filter(Q(requester_id=user.pk) | Q(proposal__author_id=user.pk) | covers_own)


def awaiting(queryset: QuerySet[WaiverRequest], user: AnyUser) -> QuerySet[WaiverRequest]:
    """The open waivers in ``queryset`` that ``user`` could approve right now.

    The SQL twin of ``waivers.rules.vote_role``: not the requester nor the
    covered proposal's author, no vote yet, and a slot they may fill — any
    slot for a lead of the owning section (one of the two is always free
    while the waiver is open), the reviewer slot for everyone else.
    """
    if not access.can_review_waivers(user):
        return queryset.none()
    leads_here = Exists(
        Section.leads.through.objects.filter(
            section_id=OuterRef("subsystem__section_id"), user_id=int(user.pk or 0)
        )
    )
    reviewer_slot_taken = Exists(
        WaiverApproval.objects.filter(waiver=OuterRef("pk"), role=ApprovalRole.REVIEWER)
    )
    voted = Exists(WaiverApproval.objects.filter(waiver=OuterRef("pk"), approver_id=user.pk))
    return (
        queryset.filter(state__in=OPEN_STATES)
        .exclude(requester_id=user.pk)
        .exclude(proposal__author_id=user.pk)
        .filter(~voted)
        .filter(leads_here | ~reviewer_slot_taken)
    )


def active_standing_waiver(
    *, subsystem_id: int, change_type: str, now: datetime
) -> WaiverRequest | None:
    """The approved standing waiver for this scope that lasts longest, if any."""
    return (
        WaiverRequest.objects.filter(
            proposal__isnull=True,
            subsystem_id=subsystem_id,
            change_type=change_type,
            state=WaiverState.APPROVED,
            expires_at__gt=now,
        )
        .order_by("-expires_at", "-id")
        .first()
    )


def uncovered(queryset: QuerySet[ChangeProposal], now: datetime) -> QuerySet[ChangeProposal]:
    """Proposals in ``queryset`` that need a waiver, have not started and have no active one."""
    active_waiver = Q(waiver__state=WaiverState.APPROVED, waiver__expires_at__gt=now)
    return queryset.filter(waiver_required=True, rollout_wedge__wedge_state=State.PENDING).exclude(
        active_waiver
    )


def requestable_proposals(
    user: User, now: datetime, *, extra: Q | None = None
) -> QuerySet[ChangeProposal]:
    """The proposals a waiver request could be filed for now: the user's own (or ``extra``).

    Not started, stored with ``waiver_required``, not covered by an active
    waiver and without an open request already.
    """
    open_request = Exists(
        WaiverRequest.objects.filter(proposal=OuterRef("pk"), state__in=OPEN_STATES)
    )
    return (
        uncovered(ChangeProposal.objects.filter(extra or Q(author=user)), now)
        .filter(~open_request)
        .select_related("subsystem")
        .order_by("-created_at", "-id")
    )


def waiver_trail(waiver_id: int) -> QuerySet[AuditEvent]:
    """Every audit event about the waiver, oldest first."""
    return AuditEvent.objects.filter(waiver_id=waiver_id).select_related("actor").order_by("id")


def proposal_waivers(proposal_id: int) -> QuerySet[WaiverRequest]:
    """The requests filed for one proposal, newest first (its page's waiver block)."""
    return WaiverRequest.objects.filter(proposal_id=proposal_id).order_by("-created_at", "-id")
