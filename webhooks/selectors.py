"""Which subscriptions a person may see and manage."""

from __future__ import annotations

from django.db.models import QuerySet

from org.access import AnyUser, is_lead_of
from org.models import Section
from webhooks.models import Subscription


def manages_every_section(user: AnyUser) -> bool:
    """Administrators and operators, who operate every section's rollouts."""
    return user.is_authenticated and (user.is_superuser or user.has_perm("org.operate_rollouts"))


def may_manage_section(user: AnyUser, section: Section | None) -> bool:
    """A section's subscriptions follow the right to operate its rollouts.

    ``None`` is an organisation-wide subscription: only for those who manage
    every section.
    """
    if manages_every_section(user):
        return True
    if section is None or not user.has_perm("org.operate_section_rollouts"):
        return False
    return is_lead_of(user, section)


def subscriptions_for(user: AnyUser) -> QuerySet[Subscription]:
    """The live (not deleted) subscriptions ``user`` may see, with what the API shows."""
    live = Subscription.objects.filter(deleted_at__isnull=True).select_related(
        "created_by", "section"
    )
    if manages_every_section(user):
        return live
    if not user.is_authenticated or not user.has_perm("org.operate_section_rollouts"):
        return live.none()
    return live.filter(section__leads=user)
