"""Reads shared by the pages and the API, with the joins they need (no N+1)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from org.models import User
from wedges.models import ChangeProposal, MetricSnapshot, RolloutWedge, State, WedgeStage


def proposals() -> QuerySet[ChangeProposal]:
    """Proposals with their subsystem, author, wedge and ordered stages."""
    return ChangeProposal.objects.select_related(
        "subsystem__section", "author", "rollout_wedge", "waiver"
    ).prefetch_related(
        Prefetch("rollout_wedge__stages", queryset=WedgeStage.objects.order_by("position"))
    )


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
    if text.lstrip("#").isdigit():
        query |= Q(pk=int(text.lstrip("#")))
    return queryset.filter(query)


def proposal_ids_authored_by(user: User) -> QuerySet[ChangeProposal, int]:
    """Ids of the user's own proposals (the audit trail's visibility for engineers)."""
    return ChangeProposal.objects.filter(author=user).values_list("id", flat=True)


def running_wedges() -> QuerySet[RolloutWedge]:
    """ACTIVE and PAUSED wedges with all the dashboard shows, newest start first."""
    return (
        RolloutWedge.objects.filter(wedge_state__in=[State.ACTIVE, State.PAUSED])
        .select_related("proposal__subsystem__section", "proposal__author", "latest_snapshot")
        .prefetch_related(Prefetch("stages", queryset=WedgeStage.objects.order_by("position")))
        .order_by("-started_at", "-id")
    )


def snapshots_of(wedge: RolloutWedge, limit: int = 500) -> list[MetricSnapshot]:
    """The most recent snapshots of a wedge, oldest first (for its chart)."""
    recent = list(wedge.snapshots.order_by("-received_at", "-id")[:limit])
    recent.reverse()
    return recent
