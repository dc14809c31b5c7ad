"""Reads shared by the pages and the API, with the joins they need (no N+1).

Who reads which proposal is the visibility table of ``org.access``; it is
applied here once (``readable_proposals``) and nowhere else.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models import (
    Case,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from audit.models import AuditEvent
from audit.selectors import visible_events
from config import permissions
from config.ids import object_id
from org import access, scopes
from org.access import AnyUser, Reach
from wedges import hooks
from wedges.models import (
    ChangeProposal,
    MetricSnapshot,
    RollbackTiming,
    RolloutWedge,
    State,
    WedgeStage,
)
from wedges.policy.codes import INITIAL_STAGE_ID, INITIAL_STAGE_INDEX


def proposals() -> QuerySet[ChangeProposal]:
    """Proposals with their subsystem, author, wedge and ordered stages."""
    return ChangeProposal.objects.select_related(
        "subsystem__section",
        "author",
        "rollout_wedge__policy_version",
        *hooks.cover_joins(),
    ).prefetch_related(stages_in_order("rollout_wedge__"))


def stages_in_order(via: str = "") -> Prefetch:
    """A wedge's stages in ladder order: what ``RolloutWedge.policy_view`` reads."""
    return Prefetch(f"{via}stages", queryset=WedgeStage.objects.order_by("position"))


def desired_states() -> QuerySet[RolloutWedge]:
    """Wedges with the open stage's id read in the same query: what agents poll.

    ``RolloutWedge.current_stage_id`` answers from the annotation instead of
    the stage rows, so ``desired-state/`` costs one query for the wedge.
    """
    open_stage = WedgeStage.objects.filter(
        wedge=OuterRef("pk"), position=OuterRef("current_stage_index")
    ).values("stage_id")[:1]
    # Whether the wedge's rollback still waits to be told to a deployer: the
    # read then records itself (``wedges.services.timing``), once.
    untold = RollbackTiming.objects.filter(wedge=OuterRef("pk"), told_at__isnull=True)
    return RolloutWedge.objects.annotate(
        open_stage_id=Case(
            When(current_stage_index=INITIAL_STAGE_INDEX, then=Value(INITIAL_STAGE_ID)),
            default=Subquery(open_stage),
        ),
        rollback_untold=Exists(untold),
    )


def operable_proposals() -> QuerySet[ChangeProposal]:
    """Proposals with the subsystem and section that the operator check reads."""
    return ChangeProposal.objects.select_related("subsystem__section")


def search(queryset: QuerySet[ChangeProposal], text: str) -> QuerySet[ChangeProposal]:
    """Plain case-insensitive search over the proposal's text fields."""
    text = text.strip()
    if not text:
        return queryset
    query = (
        Q(title__icontains=text)
        | Q(description__icontains=text)
        | Q(external_reference__icontains=text)
    )
    number = object_id(text.lstrip("#"))
    if number is not None:
        query |= Q(pk=number)
    return queryset.filter(query)


def readable_proposals(
    user: AnyUser, queryset: QuerySet[Any] | None = None, *, via: str = ""
) -> QuerySet[Any]:
    """The rows of ``queryset`` (all proposals by default) whose proposal ``user`` may read.

    The proposal row of the visibility table: everything for ``org.view_all``,
    the proposals they authored for everyone else signed in, nothing for
    anonymous callers. ``via`` is the lookup from the rows to their proposal
    (``"proposal__"`` for wedges or incidents), so what hangs off a proposal
    is read exactly as far as the proposal is.
    """
    queryset = ChangeProposal.objects.all() if queryset is None else queryset
    reach = access.read_reach(user)
    if reach is Reach.ALL:
        return queryset
    if reach is Reach.NONE:
        return queryset.none()
    return queryset.filter(**{f"{via}author_id": user.pk})


def reachable(request: Any, queryset: QuerySet[Any], *, via: str = "") -> QuerySet[Any]:
    """The rows of ``queryset`` an API call may act on (its proposal reached by ``via``).

    What the caller's owner may read (``readable_proposals``); where the
    permission table (``config.permissions``) lets a fleet agent make this
    call, a fleet agent's token holding the call's scope reaches every
    proposal of its subsystems instead (``org.scopes.acts_for_fleet``).
    Always within the token's subsystems.
    """
    match = getattr(request, "resolver_match", None)
    endpoint = permissions.api_endpoint(request.method or "", match.view_name if match else None)
    fleet_scope = endpoint.scope if endpoint is not None and endpoint.fleet else None
    if fleet_scope is None or not scopes.acts_for_fleet(request, fleet_scope):
        queryset = readable_proposals(request.user, queryset, via=via)
    return scopes.within_token_subsystems(request, queryset, via=via)


def visible_proposals(user: AnyUser) -> QuerySet[ChangeProposal]:
    """What the proposal pages and the proposal API show ``user``, with their joins."""
    return readable_proposals(user, proposals())


def readable_proposal_ids(user: AnyUser) -> QuerySet[Any]:
    """Ids of the proposals ``user`` may read: what audit events of proposals follow.

    Registered with the audit trail in ``WedgesConfig.ready``.
    """
    return readable_proposals(user).values_list("id", flat=True)


def proposal_ids_in_subsystems(subsystem_ids: frozenset[int]) -> QuerySet[Any]:
    """Ids of the proposals of those subsystems (registered with the audit trail)."""
    return ChangeProposal.objects.filter(subsystem_id__in=subsystem_ids).values_list(
        "id", flat=True
    )


def readable_wedges(user: AnyUser) -> QuerySet[RolloutWedge]:
    """The wedges of the proposals ``user`` may read, with the stages their view needs."""
    return readable_proposals(user, RolloutWedge.objects.all(), via="proposal__").prefetch_related(
        stages_in_order()
    )


def running_wedges(user: AnyUser) -> QuerySet[RolloutWedge]:
    """ACTIVE and PAUSED wedges ``user`` may read, with all the dashboard shows, newest first."""
    return (
        readable_proposals(
            user,
            RolloutWedge.objects.filter(wedge_state__in=[State.ACTIVE, State.PAUSED]),
            via="proposal__",
        )
        .select_related(
            "proposal__subsystem__section", "proposal__author", "latest_snapshot", "policy_version"
        )
        .prefetch_related(stages_in_order())
        .order_by("-started_at", "-id")
    )


def snapshots_of(wedge: RolloutWedge, limit: int = 500) -> list[MetricSnapshot]:
    """The most recent snapshots of a wedge, oldest first (for its chart)."""
    recent = list(wedge.snapshots.order_by("-received_at", "-id")[:limit])
    recent.reverse()
    return recent


def proposal_events(user: AnyUser, proposal_id: int) -> QuerySet[AuditEvent]:
    """One proposal's audit events that ``user`` may read, oldest first, with their actor.

    The same events as ``GET /api/v1/audit-events/?proposal=<id>``.
    """
    return (
        visible_events(user).filter(proposal_id=proposal_id).select_related("actor").order_by("id")
    )


PROPOSAL_FACTS: Final = frozenset({"title", "subsystem", "reference"})


def proposal_facts(proposal_id: int) -> dict[str, Any]:
    """What an announced event says about its proposal (``webhooks.facts``); one query."""
    row = (
        ChangeProposal.objects.filter(pk=proposal_id)
        .values("title", "subsystem__slug", "external_reference")
        .first()
    )
    if row is None:
        return {}
    return {
        "title": row["title"],
        "subsystem": row["subsystem__slug"],
        "reference": row["external_reference"],
    }


def latest_events(proposal_ids: list[int], code: str) -> dict[int, AuditEvent]:
    """The newest event with ``code`` of each proposal, by proposal id, in one query.

    For pages that already decided which proposals the user reads.
    """
    if not proposal_ids:
        return {}
    newest = (
        AuditEvent.objects.filter(proposal_id__in=proposal_ids, code=code)
        .values("proposal_id")
        .annotate(newest=Max("id"))
        .values("newest")
    )
    return {
        event.proposal_id: event
        for event in AuditEvent.objects.filter(id__in=newest).select_related("actor")
        if event.proposal_id is not None
    }
