"""Reads of change freezes, and the start and advance checks they put on wedges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from audit.codes import EventCode
from audit.models import AuditEvent
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


@dataclass(frozen=True)
class FreezeHold:
    freeze: ChangeFreeze
    message: str


def _message(freeze: ChangeFreeze, now: datetime) -> str:
    return f"Frozen until {humane.clock(freeze.until, now)}: {freeze.reason}"


def _waived(proposal: ChangeProposal, now: datetime) -> bool:
    """Whether an active waiver covers ``proposal``: a freeze then lets it through."""
    waiver = covering_waiver(proposal)
    return waiver is not None and waiver.is_active_at(now)


def hold_on(proposal: ChangeProposal, now: datetime) -> FreezeHold | None:
    """The freeze that stops ``proposal`` now, unless an active waiver covers it."""
    freeze = freeze_holding(proposal.subsystem_id, now)
    if freeze is None or _waived(proposal, now):
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
    if _waived(proposal, now):
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
    if _waived(proposal, now):
        return None
    return AdvanceHold(errors.FROZEN, _message(freeze, now))


@dataclass(frozen=True)
class FreezeSummary:
    """A freeze as the quarterly report shows it: its window, and what it held."""

    freeze: ChangeFreeze
    status: str  # FreezeStatus value at the time of the report
    held: tuple[int, ...]  # proposals whose rollout it held at their stage
    waived_through: tuple[int, ...]  # proposals an active waiver let start during it


def quarter_freezes(start: datetime, end: datetime, now: datetime) -> list[FreezeSummary]:
    """The freezes in force for some of ``[start, end)``, oldest first, with what they held.

    One query when there are none; four however many there are (the freezes,
    their subsystems, the starts they let through, the rollouts that ran).
    """
    found = list(in_quarter(start, end))
    if not found:
        return []
    through: dict[int, list[int]] = {freeze.pk: [] for freeze in found}
    for proposal_id, data in (
        AuditEvent.objects.filter(
            code=EventCode.WEDGE_STARTED, data__freeze__in=list(through), proposal_id__isnull=False
        )
        .order_by("proposal_id")
        .values_list("proposal_id", "data")
    ):
        if proposal_id is not None:
            through[data["freeze"]].append(proposal_id)
    earliest = min(freeze.starts_at for freeze in found)
    latest = max(freeze.until for freeze in found)
    ran = list(
        ChangeProposal.objects.filter(
            rollout_wedge__started_at__lt=latest, waiver_coverage__isnull=True
        )
        .exclude(rollout_wedge__finished_at__lt=earliest)
        .order_by("pk")
        .values_list(
            "pk", "subsystem_id", "rollout_wedge__started_at", "rollout_wedge__finished_at"
        )
    )
    summaries = []
    for freeze in found:
        scope = {subsystem.pk for subsystem in freeze.subsystems.all()}
        held = tuple(
            pk
            for pk, subsystem_id, started, finished in ran
            if (freeze.whole_organisation or subsystem_id in scope)
            and started is not None
            and started < freeze.until
            and (finished is None or finished >= freeze.starts_at)
            and pk not in through[freeze.pk]
        )
        summaries.append(
            FreezeSummary(freeze, str(freeze.status_at(now).value), held, tuple(through[freeze.pk]))
        )
    return summaries
