"""Which subscriptions a person may see and manage; how far an event's webhooks got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from org.access import AnyUser, is_lead_of
from org.models import Section
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent, Subscription


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


@dataclass(frozen=True)
class Announcement:
    """How far the webhooks announcing one event got."""

    subscribers: int  # deliveries made for it (one per subscription to its code)
    delivered: int
    pending: int
    failed: int  # gave up, or cancelled with its subscription
    fanned_out: bool
    last_delivered_at: datetime | None


def announcement(*, proposal_id: int, event_code: str, at: datetime) -> Announcement | None:
    """The webhook deliveries of the event a transition wrote at ``at``; ``None`` if none was.

    Every transition writes its outbox row with the audit event's own time
    (``wedges.services.rollout``), so the two are matched on proposal, code
    and time. Two queries.
    """
    event = (
        OutboxEvent.objects.filter(proposal_id=proposal_id, event_code=event_code, created_at=at)
        .order_by("-id")
        .first()
    )
    if event is None:
        return None
    counts: dict[str, int] = {}
    last: datetime | None = None
    for row in (
        Delivery.objects.filter(event=event)
        .values("status")
        .annotate(n=Count("id"), last=Max("delivered_at"))
    ):
        counts[row["status"]] = row["n"]
        if row["last"] is not None and (last is None or row["last"] > last):
            last = row["last"]
    return Announcement(
        subscribers=sum(counts.values()),
        delivered=counts.get(DeliveryStatus.DELIVERED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.CANCELLED, 0),
        fanned_out=event.fanned_out_at is not None,
        last_delivered_at=last,
    )
