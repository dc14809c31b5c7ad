"""Reads shared by the pages and the API, with the joins they need (no N+1)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from org.models import User
from wedges.models import ChangeProposal, WedgeStage


def proposals() -> QuerySet[ChangeProposal]:
    """Proposals with their subsystem, author, wedge and ordered stages."""
    return ChangeProposal.objects.select_related(
        "subsystem__section", "author", "rollout_wedge"
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
