"""Reads of incidents that the pages, the API and the report share (no N+1)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from governance.models import Incident
from org import access
from org.access import AnyUser


def incidents() -> QuerySet[Incident]:
    """Incidents with what every view of them shows, containment included.

    ``proposal__rollout_wedge`` is what ``Incident.contained`` reads.
    """
    return Incident.objects.select_related(
        "proposal__rollout_wedge", "proposal__subsystem", "reported_by"
    ).order_by("-occurred_at", "-id")


def visible_incidents(user: AnyUser) -> QuerySet[Incident]:
    """The incidents ``user`` may read.

    Holders of ``org.view_all`` (operators, leads, reviewers, auditors) read
    every incident; everyone else signed in reads those of the proposals they
    authored — the same line the audit trail draws.
    """
    queryset = incidents()
    if not user.is_authenticated:
        return queryset.none()
    if access.can_view_all(user):
        return queryset
    return queryset.filter(proposal__author_id=user.pk)


def incidents_between(start: datetime, end: datetime) -> QuerySet[Incident]:
    """Incidents that occurred in ``[start, end)``, oldest first (the report's order)."""
    return (
        incidents()
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "id")
    )


def proposal_incidents(proposal_id: int) -> QuerySet[Incident]:
    """One proposal's incidents, newest first (its page's incident block)."""
    return (
        Incident.objects.filter(proposal_id=proposal_id)
        .select_related("reported_by")
        .order_by("-occurred_at", "-id")
    )
