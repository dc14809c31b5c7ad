"""Who may declare and end a change freeze.

- **Subsystems**: a section lead may freeze the subsystems of the sections
  they lead (every subsystem named must be theirs).
- **The whole organisation**: any section lead. A holiday or an incident
  that stops every change is a call any one lead may make; the freeze is
  audited and any lead may end it.
- The administrator (superuser) may do both.
- Ending or cancelling a freeze: whoever could have declared it.

Operators run rollouts but do not set the organisation's change calendar,
so they may not; reviewers, auditors and engineers neither.
"""

from __future__ import annotations

from collections.abc import Iterable

from org.access import AnyUser
from org.models import Section, Subsystem


def leads_any_section(user: AnyUser) -> bool:
    return user.is_authenticated and Section.objects.filter(leads=user.pk).exists()


def may_freeze(user: AnyUser, *, whole_organisation: bool, subsystems: Iterable[Subsystem]) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if whole_organisation:
        return leads_any_section(user)
    led = set(Section.objects.filter(leads=user.pk).values_list("pk", flat=True))
    sections = {subsystem.section_id for subsystem in subsystems}
    return bool(sections) and sections <= led


def may_declare_any(user: AnyUser) -> bool:
    """Whether the page offers ``user`` the form at all."""
    return user.is_authenticated and (user.is_superuser or leads_any_section(user))


def lead_subsystems(user: AnyUser) -> list[Subsystem]:
    """The subsystems ``user`` may freeze one by one."""
    if not user.is_authenticated:
        return []
    queryset = Subsystem.objects.select_related("section").order_by("name")
    if user.is_superuser:
        return list(queryset)
    return list(queryset.filter(section__leads=user.pk))
