"""The proposal page's list of canaries (clusters) gating it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.utils import timezone

from gates import selectors
from gates.models import CanaryBinding, Health
from org import access
from wedges.models import ChangeProposal
from wedges.services import rollout

register = template.Library()


@dataclass(frozen=True)
class CanaryRow:
    binding: CanaryBinding
    health: str  # healthy, failed, promoted, silent or detached
    badge: str  # the CSS class of its badge


# The badge colours of wedge.css, reused.
_BADGES = {
    "healthy": "state-ACTIVE",
    "promoted": "state-COMPLETE",
    "failed": "state-ROLLED_BACK",
    "silent": "state-PAUSED",
    "detached": "state-PENDING",
}


def _health(binding: CanaryBinding, now: Any, freshness: Any) -> str:
    if binding.detached_at is not None:
        return "detached"
    if binding.health == Health.FAILED:
        return "failed"
    if binding.health == Health.SUCCEEDED:
        return "promoted"
    return "silent" if binding.is_silent(now, freshness) else "healthy"


@register.simple_tag
def proposal_canaries(proposal: ChangeProposal, user: Any) -> dict[str, Any]:
    """The canaries that gate ``proposal``, their last call, and whether they hold it."""
    now = timezone.now()
    freshness = rollout.freshness()
    rows = [
        CanaryRow(binding, health, _BADGES[health])
        for binding in selectors.canaries_of(proposal)
        for health in [_health(binding, now, freshness)]
    ]
    return {
        "rows": rows,
        "hold": selectors.canaries_hold(proposal.pk, now, freshness) if rows else None,
        "can_detach": access.can_operate(user, proposal.subsystem),
        "freshness_seconds": int(freshness.total_seconds()),
    }
