"""Stand-ins for the settings hooks the audit app resolves by name."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from audit.codes import EventCode
from audit.models import AuditEvent
from org.models import User


def proposals_submitted_by(user: User) -> QuerySet[Any]:
    """A user's proposals are those whose submission (WDG-101) they recorded."""
    return AuditEvent.objects.filter(code=EventCode.PROPOSAL_SUBMITTED, actor=user).values_list(
        "proposal_id", flat=True
    )
