"""Reads of waivers that the pages, the API and the services share (no N+1).

Who reads which waiver is the waiver row of the visibility table in
``org.access``, applied here once (``visible_waivers``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from audit.models import AuditEvent
from audit.selectors import visible_events
from org import access
from org.access import AnyUser, Reach
from org.models import Section, User
from waivers.models import ApprovalRole, WaiverApproval, WaiverCoverage, WaiverRequest, WaiverState
from waivers.rules import OPEN_STATES
from wedges.hooks import WaiverCover
from wedges.models import ChangeProposal, State
from wedges.selectors import readable_proposals

# The joins from a proposal that ``covering_waiver`` reads (``wedges.hooks``).
COVER_JOINS = ("waiver_coverage__waiver",)


def _waivers(covered: QuerySet[ChangeProposal]) -> QuerySet[WaiverRequest]:
    return WaiverRequest.objects.select_related(
        "requester", "subsystem__section", "proposal__author", "closed_by"
    ).prefetch_related(
        Prefetch(
            "approvals",
            queryset=WaiverApproval.objects.select_related("approver").order_by("created_at", "id"),
        ),
        Prefetch("covered_proposals", queryset=covered.only("id", "title").order_by("id")),
    )


def waivers() -> QuerySet[WaiverRequest]:
    """Waivers with everything their pages and JSON show, in a fixed number of queries."""
    return _waivers(ChangeProposal.objects.all())


def _readable(
    user: AnyUser, queryset: QuerySet[WaiverRequest] | None = None
) -> QuerySet[WaiverRequest]:
    queryset = WaiverRequest.objects.all() if queryset is None else queryset
    reach = access.read_reach(user)
    if reach is Reach.ALL:
        return queryset
    if reach is Reach.NONE:
        return queryset.none()
    # Exists() rather than joins: no duplicate rows, so no DISTINCT needed.
    covers_own = Exists(
        WaiverCoverage.objects.filter(waiver=OuterRef("pk"), proposal__author_id=user.pk)
    )
    return queryset.filter(Q(requester_id=user.pk) | Q(proposal__author_id=user.pk) | covers_own)


def visible_waivers(user: AnyUser) -> QuerySet[WaiverRequest]:
    """The waivers ``user`` may read, with what their pages and JSON show.

    Holders of ``org.view_all`` (operators, leads, reviewers, auditors) read
    every waiver; everyone else the waivers they requested and those that
    concern their own proposals (requested for one, or covering one). A
    waiver's covered proposals are listed only as far as ``user`` may read
    them: a standing waiver does not name other people's proposals to an
    engineer.
    """
    return _readable(user, _waivers(readable_proposals(user, ChangeProposal.objects.all())))


def readable_waiver_ids(user: AnyUser) -> QuerySet[Any]:
    """Ids of the waivers ``user`` may read: what audit events of waivers follow.

    Registered with the audit trail in ``waivers.receivers``.
    """
    return _readable(user).values_list("id", flat=True)


def waiver_ids_in_subsystems(subsystem_ids: frozenset[int]) -> QuerySet[Any]:
    """Ids of the waivers of those subsystems (registered with the audit trail)."""
    return WaiverRequest.objects.filter(subsystem_id__in=subsystem_ids).values_list("id", flat=True)


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
    *, subsystem_id: int, change_type: str, author_id: int, now: datetime
) -> WaiverRequest | None:
    """The approved standing waiver for this scope that lasts longest and may cover the author's.

    Four eyes: an approval does not count for the approver's own proposals,
    so a standing waiver one of whose approvers is ``author_id`` is passed
    over (``covers_authors_of``).
    """
    return (
        active_standing_waivers(subsystem_id=subsystem_id, change_type=change_type, now=now)
        .exclude(approvals__approver_id=author_id)
        .order_by("-expires_at", "-id")
        .first()
    )


def active_standing_waivers(
    *, subsystem_id: int, change_type: str, now: datetime
) -> QuerySet[WaiverRequest]:
    """Every approved, unexpired standing waiver for this subsystem and change type."""
    return WaiverRequest.objects.filter(
        proposal__isnull=True,
        subsystem_id=subsystem_id,
        change_type=change_type,
        state=WaiverState.APPROVED,
        expires_at__gt=now,
    )


def approved_by_author(
    proposal: ChangeProposal, user: AnyUser, now: datetime
) -> list[WaiverRequest]:
    """The active standing waivers of the proposal's scope that its author approved.

    They do not cover it (four eyes); the proposal page says so to ``user``,
    naming those of them ``user`` may read.
    """
    scope = active_standing_waivers(
        subsystem_id=proposal.subsystem_id, change_type=proposal.change_type, now=now
    ).filter(approvals__approver_id=proposal.author_id)
    return list(_readable(user, scope).order_by("-expires_at", "-id"))


def uncovered(queryset: QuerySet[ChangeProposal], now: datetime) -> QuerySet[ChangeProposal]:
    """Proposals in ``queryset`` that need a waiver, have not started and have no active one."""
    actively_covered = Exists(
        WaiverCoverage.objects.filter(
            proposal=OuterRef("pk"), waiver__state=WaiverState.APPROVED, waiver__expires_at__gt=now
        )
    )
    return queryset.filter(waiver_required=True, rollout_wedge__wedge_state=State.PENDING).filter(
        ~actively_covered
    )


def covering_waiver(proposal: ChangeProposal) -> WaiverRequest | None:
    """The waiver that lifted the proposal's waivable rules, active or since closed.

    No query when the proposal was read with ``COVER_JOINS``.
    """
    try:
        return proposal.waiver_coverage.waiver
    except WaiverCoverage.DoesNotExist:
        return None


def waiver_cover(proposal: ChangeProposal) -> WaiverCover | None:
    """``covering_waiver`` as the proposal's answer shows it (registered in ``WaiversConfig``)."""
    waiver = covering_waiver(proposal)
    if waiver is None:
        return None
    return WaiverCover(waiver_id=waiver.pk, state=waiver.state, expires_at=waiver.expires_at)


def requestable_proposals(
    user: User, now: datetime, *, extra: Q | None = None
) -> QuerySet[ChangeProposal]:
    """The proposals a waiver request could be filed for now: the user's own (or ``extra``).

    Only proposals the user may read, not started, stored with
    ``waiver_required``, not covered by an active waiver and without an open
    request already.
    """
    open_request = Exists(
        WaiverRequest.objects.filter(proposal=OuterRef("pk"), state__in=OPEN_STATES)
    )
    mine = readable_proposals(user, ChangeProposal.objects.filter(extra or Q(author=user)))
    return (
        uncovered(mine, now)
        .filter(~open_request)
        .select_related("subsystem")
        .order_by("-created_at", "-id")
    )


def waiver_trail(waiver_id: int, user: AnyUser) -> QuerySet[AuditEvent]:
    """The audit events about the waiver that ``user`` may read, oldest first.

    The same events as ``GET /api/v1/audit-events/?waiver=<id>``.
    """
    return visible_events(user).filter(waiver_id=waiver_id).select_related("actor").order_by("id")


def proposal_waivers(proposal_id: int, user: AnyUser) -> QuerySet[WaiverRequest]:
    """The requests filed for one proposal that ``user`` may read, newest first."""
    return _readable(user).filter(proposal_id=proposal_id).order_by("-created_at", "-id")
