"""Template helpers of the waiver pages and the proposal page's waiver block."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from org import access
from policies.selectors import thresholds_in_force
from waivers import selectors
from waivers.models import WaiverState
from waivers.rules import MAX_WAIVER_DAYS, OPEN_STATES
from wedges.models import ChangeProposal, ChangeType, State
from wedges.policy.validation import waived_rules

register = template.Library()

# The badge colours of wedge.css, reused: grey waiting, amber half-way,
# green active, red closed by a person, grey closed by time.
_BADGES = {
    WaiverState.REQUESTED: "state-PENDING",
    WaiverState.PARTIALLY_APPROVED: "state-PAUSED",
    WaiverState.APPROVED: "state-COMPLETE",
    WaiverState.REJECTED: "state-ROLLED_BACK",
    WaiverState.EXPIRED: "state-PENDING",
    WaiverState.REVOKED: "state-ROLLED_BACK",
}


@register.filter
def waiver_badge(state: str) -> str:
    """The CSS class of a waiver state's badge."""
    return _BADGES.get(WaiverState(state), "") if state in WaiverState.values else ""


@register.simple_tag
def max_waiver_days() -> int:
    """The most days an approved waiver runs under the policy version in force now."""
    return min(thresholds_in_force(timezone.now())[1].max_waiver_days, MAX_WAIVER_DAYS)


@register.simple_tag
def proposal_waiver_info(proposal: ChangeProposal, user: Any) -> dict[str, Any]:
    """What the proposal page says about waivers: the cover, open requests, a request link.

    ``approved_by_author``: active standing waivers of the proposal's scope
    that do not cover it because its author approved them (four eyes).
    """
    now = timezone.now()
    waiver = selectors.covering_waiver(proposal)
    requests = list(selectors.proposal_waivers(proposal.pk, user))
    started = proposal.rollout_wedge.wedge_state != State.PENDING
    covered = waiver is not None and waiver.is_active_at(now)
    open_requests = [request for request in requests if request.state in OPEN_STATES]
    may_request = access.can_submit(user) or proposal.author_id == getattr(user, "pk", None)
    waiting = proposal.waiver_required and not started and not covered
    return {
        "waiver": waiver,
        "covered": covered,
        "requests": requests,
        "approved_by_author": selectors.approved_by_author(proposal, user, now) if waiting else [],
        "can_request": (
            proposal.waiver_required
            and not started
            and not covered
            and not open_requests
            and may_request
        ),
    }


@register.filter
def change_type_label(value: str) -> str:
    """A change type's label ("Security patch"), not its code."""
    return str(ChangeType(value).label) if value in ChangeType.values else value


@register.filter
def lifted(waivable_codes: list[str]) -> str:
    """What a waiver lifts, in words: "a first stage above 25 %"."""
    return waived_rules(waivable_codes or [])


@register.filter
def lifted_for(proposal: ChangeProposal) -> str:
    """What a waiver lifts for ``proposal``, in the numbers of the policy version it was
    validated under ("fewer than 3 stages" under a version asking for three)."""
    return waived_rules(proposal.waivable_codes or [], proposal.rollout_wedge.thresholds)
