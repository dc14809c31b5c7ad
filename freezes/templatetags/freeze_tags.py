"""The freeze notices other apps' pages show: the dashboard's banner, the proposal's notice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone

from freezes import selectors
from freezes.models import FreezeStatus
from wedges.models import ChangeProposal, State

register = template.Library()

# The dashboard announces a freeze this long before it starts.
AHEAD = timedelta(days=7)

_BADGES = {
    FreezeStatus.SCHEDULED: "state-PENDING",
    FreezeStatus.IN_FORCE: "state-PAUSED",
    FreezeStatus.ENDED_EARLY: "state-COMPLETE",
    FreezeStatus.OVER: "state-COMPLETE",
    FreezeStatus.CANCELLED: "state-ROLLED_BACK",
}


@register.filter
def freeze_badge(status: str) -> str:
    return _BADGES.get(FreezeStatus(status), "")


@register.filter
def freeze_status_label(status: str) -> str:
    return str(FreezeStatus(status).label)


@register.inclusion_tag("freezes/_banner.html", takes_context=True)
def freeze_banner(context: template.Context) -> dict[str, Any]:
    """Freezes in force now, and those starting within a week."""
    now = timezone.now()
    freezes = selectors.in_force_or_soon(now, soon=now + AHEAD)
    return {
        "now": now,
        "in_force": [freeze for freeze in freezes if freeze.is_in_force_at(now)],
        "coming": [freeze for freeze in freezes if not freeze.is_in_force_at(now)],
    }


@register.inclusion_tag("freezes/_proposal_notice.html")
def proposal_freeze(proposal: ChangeProposal) -> dict[str, Any]:
    """The freeze that holds ``proposal`` now (one that has not finished), if any."""
    now = timezone.now()
    wedge = getattr(proposal, "rollout_wedge", None)
    finished = wedge is not None and wedge.wedge_state in (State.COMPLETE, State.ROLLED_BACK)
    freeze = None if finished else selectors.freeze_holding(proposal.subsystem_id, now)
    waived = False
    if freeze is not None:
        waived = selectors.hold_on(proposal, now) is None
    return {"freeze": freeze, "waived": waived, "now": now}
