"""Stand-ins for what the proposal and waiver apps register with the audit trail."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from audit.codes import EventCode
from audit.models import AuditEvent
from org.access import AnyUser


def proposals_submitted_by(user: AnyUser) -> QuerySet[Any]:
    """A user's proposals are those whose submission (WDG-101) they recorded."""
    return AuditEvent.objects.filter(
        code=EventCode.PROPOSAL_SUBMITTED, actor_id=user.pk
    ).values_list("proposal_id", flat=True)


def waivers_requested_by(user: AnyUser) -> QuerySet[Any]:
    """A user's waivers are those whose request (WDG-201) they recorded."""
    return AuditEvent.objects.filter(code=EventCode.WAIVER_REQUESTED, actor_id=user.pk).values_list(
        "waiver_id", flat=True
    )
