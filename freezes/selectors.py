"""Reads of change freezes, and the start and advance checks they put on wedges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from freezes import errors
from freezes.models import ChangeFreeze, in_force
from org import humane
from org.models import Subsystem
from waivers.selectors import covering_waiver
from wedges.errors import RolloutRefused
from wedges.hooks import AdvanceHold
from wedges.models import ChangeProposal, RolloutWedge


def freezes() -> QuerySet[ChangeFreeze]:
    """Every freeze with what its pages and answers read."""
    return ChangeFreeze.objects.select_related("declared_by", "ended_by").prefetch_related(
        Prefetch("subsystems", queryset=Subsystem.objects.order_by("name"))
    )


def covering(subsystem_id: int) -> Q:
    """The freezes whose scope includes ``subsystem_id``."""
    return Q(whole_organisation=True) | Q(subsystems=subsystem_id)


def freeze_holding(subsystem_id: int, now: datetime) -> ChangeFreeze | None:
    """The freeze in force on ``subsystem_id`` at ``now`` that ends last, or ``None``."""
    return (
        freezes()
        .filter(in_force(now))
        .filter(covering(subsystem_id))
        .distinct()
        .order_by("-ends_at", "-id")
        .first()
    )


def in_force_or_soon(now: datetime, *, soon: datetime) -> list[ChangeFreeze]:
    """Freezes in force at ``now`` or starting before ``soon``: the dashboard's banner."""
    not_ended = Q(ended_at__isnull=True) | Q(ended_at__gt=now)
    return list(
        freezes()
        .filter(not_ended, starts_at__lt=soon, ends_at__gt=now)
        .exclude(ended_at__isnull=False, ended_at__lte=F("starts_at"))
        .order_by("starts_at", "id")
    )


def in_quarter(start: datetime, end: datetime) -> QuerySet[ChangeFreeze]:
    """Freezes that held for some of ``[start, end)`` (cancelled ones left out)."""
    return (
        freezes()
        .filter(starts_at__lt=end, ends_at__gt=start)
        .exclude(ended_at__isnull=False, ended_at__lte=F("starts_at"))
        .exclude(ended_at__isnull=False, ended_at__lte=start)
        .order_by("starts_at", "id")
    )


def held_by(freeze: ChangeFreeze) -> QuerySet[ChangeProposal]:
    """The proposals a freeze held: rolling out in its scope while it was in force.

    A wedge started before the freeze ended and not finished (completed or
    rolled back) before it began. Proposals covered by a waiver went through,
    and are not counted.
    """
    proposals = ChangeProposal.objects.filter(
        rollout_wedge__started_at__lt=freeze.until,
    ).exclude(rollout_wedge__finished_at__lt=freeze.starts_at)
    if not freeze.whole_organisation:
        proposals = proposals.filter(subsystem__in=freeze.subsystems.all())
    return proposals.exclude(waiver_coverage__isnull=False).order_by("pk")


@dataclass(frozen=True)
class FreezeHold:
    freeze: ChangeFreeze
    message: str


def _message(freeze: ChangeFreeze, now: datetime) -> str:
    return f"Frozen until {humane.clock(freeze.until, now)}: {freeze.reason}"


def hold_on(proposal: ChangeProposal, now: datetime) -> FreezeHold | None:
    """The freeze that stops ``proposal`` now, unless an active waiver covers it."""
    freeze = freeze_holding(proposal.subsystem_id, now)
    if freeze is None:
        return None
    waiver = covering_waiver(proposal)
    if waiver is not None and waiver.is_active_at(now):
        return None
    return FreezeHold(freeze, _message(freeze, now))


def start_check(proposal: ChangeProposal, now: datetime) -> dict[str, int] | None:
    """The wedges start check: refuse to start a proposal a freeze holds.

    A proposal an active waiver covers starts, and its start event names the
    freeze it went through.
    """
    freeze = freeze_holding(proposal.subsystem_id, now)
    if freeze is None:
        return None
    waiver = covering_waiver(proposal)
    if waiver is not None and waiver.is_active_at(now):
        return {"freeze": freeze.pk}
    raise RolloutRefused(
        errors.FROZEN,
        f"{_message(freeze, now)}. No rollout in its scope starts unless a waiver covers it.",
    )


def advance_check(wedge: RolloutWedge, now: datetime) -> AdvanceHold | None:
    """The wedges advance check: hold the stage while a freeze is in force on it."""
    freeze = (
        ChangeFreeze.objects.filter(in_force(now))
        .filter(Q(whole_organisation=True) | Q(subsystems__proposals=wedge.proposal_id))
        .order_by("-ends_at", "-id")
        .only("pk", "reason", "starts_at", "ends_at", "ended_at")
        .first()
    )
    if freeze is None:
        return None
    proposal = ChangeProposal.objects.select_related("waiver_coverage__waiver").get(
        pk=wedge.proposal_id
    )
    waiver = covering_waiver(proposal)
    if waiver is not None and waiver.is_active_at(now):
        return None
    return AdvanceHold(errors.FROZEN, _message(freeze, now))
