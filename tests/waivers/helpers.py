"""Shared data and small helpers of the waiver tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from audit.models import AuditEvent
from waivers.models import WaiverRequest
from waivers.selectors import covering_waiver
from wedges.models import ChangeProposal

# A fixed moment to travel to; tests move from it by whole days and seconds.
T = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

STAGE: dict[str, Any] = {
    "stage_id": "canary",
    "target_percentage": 10,
    "duration_hours": 1,
    "success_criteria": ["error_rate < 0.01"],
    "rollback_trigger": "error_rate > 0.05",
}
BODY: dict[str, Any] = {
    "title": "Connector runtime 2.5",
    "description": "",
    "change_type": "connector_deployment",
    "subsystem": "connector-runtime",
    "rollout_wedge": {
        "wedge_stages": [STAGE, {**STAGE, "stage_id": "half", "target_percentage": 50}],
        "initial_percentage": 5,
        "increment_policy": "manual",
        "max_blast_radius": 50,
        "observation_window_hours": 1.0,
    },
}
# One stage at 20 %: breaks only validation rule 1 of docs/policy.md (at least two
# stages), which a waiver lifts.
SINGLE_STAGE: list[dict[str, Any]] = [{**STAGE, "stage_id": "all", "target_percentage": 20}]


def fresh(waiver: WaiverRequest) -> WaiverRequest:
    return WaiverRequest.objects.get(pk=waiver.pk)


def fresh_proposal(proposal: ChangeProposal) -> ChangeProposal:
    return ChangeProposal.objects.select_related("rollout_wedge").get(pk=proposal.pk)


def waiver_of(proposal: ChangeProposal) -> WaiverRequest | None:
    """The waiver that covers ``proposal`` now, read afresh."""
    return covering_waiver(fresh_proposal(proposal))


def codes(waiver_id: int) -> list[str]:
    """The audit codes recorded about a waiver, oldest first."""
    return list(
        AuditEvent.objects.filter(waiver_id=waiver_id).order_by("id").values_list("code", flat=True)
    )
