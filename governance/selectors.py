"""Reads of incidents that the pages, the API and the report share (no N+1)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from governance.models import Incident
from org.access import AnyUser
from wedges.selectors import readable_proposals, stages_in_order


def incidents() -> QuerySet[Incident]:
    """Incidents with what every view of them shows, containment included.

    ``proposal__rollout_wedge`` and its stages are what ``Incident.contained`` reads.
    """
    return (
        Incident.objects.select_related(
            "proposal__rollout_wedge__policy_version", "proposal__subsystem", "reported_by"
        )
        .prefetch_related(stages_in_order("proposal__rollout_wedge__"))
        .order_by("-occurred_at", "-id")
    )


def visible_incidents(user: AnyUser) -> QuerySet[Incident]:
    """The incidents ``user`` may read: those of the proposals they may read.

    The incident row of the visibility table (``org.access``): holders of
    ``org.view_all`` read every incident, everyone else signed in those of
    the proposals they authored.
    """
    result: QuerySet[Incident] = readable_proposals(user, incidents(), via="proposal__")
    return result


def incidents_between(start: datetime, end: datetime) -> QuerySet[Incident]:
    """Incidents that occurred in ``[start, end)``, oldest first (the report's order)."""
    return (
        incidents()
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "id")
    )


def proposal_incidents(proposal_id: int, user: AnyUser) -> QuerySet[Incident]:
    """One proposal's incidents that ``user`` may read, newest first (its page's block)."""
    result: QuerySet[Incident] = readable_proposals(
        user, Incident.objects.filter(proposal_id=proposal_id), via="proposal__"
    )
    return result.select_related("reported_by").order_by("-occurred_at", "-id")
