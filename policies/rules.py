"""Who may take part in a policy change: section leads, never on their own proposal.

The policy: its owner is the Section 11 lead, and *changes require review by
at least one other section lead*. So a section lead (someone in the
section-lead role who leads at least one section) proposes; any *other*
section lead approves or rejects; the proposer alone may withdraw. Roles go
by the role, never by the superuser flag (``org.access.holds``).
"""

from __future__ import annotations

from org.access import AnyUser, holds
from org.models import Section

SECTION_LEAD_PERMISSION = "org.operate_section_rollouts"


def is_section_lead(user: AnyUser) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return holds(user, SECTION_LEAD_PERMISSION) and Section.objects.filter(leads=user).exists()
