"""Every audit event code, with its meaning, in one place.

The values are stable: exports, webhooks and the governance report match on
them, so a code never changes meaning once released. The four ``RWG-`` codes
are the policy's own (``docs/policy.md``, "Event Codes") and are recorded for
those four events whoever causes them — an operator's hold is ``RWG-002`` with
the operator as actor. The ``WDG-`` codes are the application's.

The policy core (``wedges.policy.codes``, ``EVENT_*``) names the four ``RWG-``
codes too, for its decisions: the audit trail may not import the apps above
it, so the two lists are held equal by a test rather than by an import.
"""

from __future__ import annotations

from typing import Final

from django.db import models


class EventCode(models.TextChoices):
    # The policy's rollout events.
    STAGE_ADVANCED = "RWG-001", "Stage advanced"
    PAUSED = "RWG-002", "Rollout paused"
    ROLLED_BACK = "RWG-003", "Rollout rolled back"
    COMPLETED = "RWG-004", "Rollout completed"
    # Proposals and operator actions.
    PROPOSAL_SUBMITTED = "WDG-101", "Proposal submitted"
    WEDGE_STARTED = "WDG-102", "Rollout started"
    WEDGE_RESUMED = "WDG-103", "Rollout resumed"
    # An operator's approval of an eligible manual stage; the advance itself
    # follows as RWG-001.
    ADVANCE_APPROVED = "WDG-104", "Advance approved by an operator"
    ADVANCE_REFUSED = "WDG-105", "Advance refused: the stage was not eligible"
    # A manual wedge's stage became eligible and waits for an operator's
    # approval: recorded (and announced) once each time a stage opens.
    AWAITING_APPROVAL = "WDG-106", "Stage eligible, awaiting an operator's approval"
    # Waivers (the policy's appeal process).
    WAIVER_REQUESTED = "WDG-201", "Waiver requested"
    WAIVER_APPROVAL_GIVEN = "WDG-202", "Waiver approval given"
    WAIVER_APPROVED = "WDG-203", "Waiver approved and active"
    WAIVER_REJECTED = "WDG-204", "Waiver rejected"
    WAIVER_EXPIRED = "WDG-205", "Waiver expired"
    WAIVER_REVOKED = "WDG-206", "Waiver revoked"
    WAIVER_APPLIED = "WDG-207", "Waiver applied to a proposal"
    # Security.
    SIGN_IN_FAILED = "WDG-301", "Sign-in failed"
    API_TOKEN_ISSUED = "WDG-302", "API token created or rotated"
    WEBHOOK_CHANGED = "WDG-401", "Webhook subscription created or changed"
    API_TOKEN_REVOKED = "WDG-303", "API token revoked"
    API_TOKEN_REFUSED = "WDG-304", "Revoked or expired API token presented"
    SIGN_IN_LOCKED_OUT = "WDG-305", "Sign-in locked after repeated failures"
    # Governance.
    INCIDENT_RECORDED = "WDG-501", "Incident recorded against a proposal"
    INCIDENT_UPDATED = "WDG-502", "Incident updated from its incident tool"
    # Policy change control (policies app): a section lead proposes new
    # thresholds, another approves or rejects, or the proposer withdraws.
    POLICY_VERSION_PROPOSED = "WDG-511", "Policy change proposed"
    POLICY_VERSION_APPROVED = "WDG-512", "Policy change approved"
    POLICY_VERSION_REJECTED = "WDG-513", "Policy change rejected"
    POLICY_VERSION_WITHDRAWN = "WDG-514", "Policy change withdrawn"
    # Change freezes (freezes app).
    FREEZE_DECLARED = "WDG-521", "Change freeze declared"
    FREEZE_ENDED = "WDG-522", "Change freeze ended early"
    FREEZE_CANCELLED = "WDG-523", "Change freeze cancelled before it started"
    # Metric providers: a running wedge's metric queries started failing, or
    # answer again (once per change, not per poll).
    METRICS_FAILING = "WDG-601", "Metric provider failing"
    METRICS_RECOVERED = "WDG-602", "Metric provider answering again"
    # Gates for deployers already in place (Flagger, Argo Rollouts; gates app).
    CANARY_BOUND = "WDG-701", "Canary mapped to a proposal"
    CANARY_EVENT = "WDG-702", "Canary event reported by its deployer"
    CANARY_FAILED = "WDG-703", "Canary reported failed"
    GATE_REFUSED = "WDG-704", "Gate call refused"
    CANARY_DETACHED = "WDG-705", "Canary detached from a proposal by an operator"


# The policy's own events (RWG-001...004): the chart marks them.
POLICY_EVENTS: Final = frozenset(
    code.value
    for code in (
        EventCode.STAGE_ADVANCED,
        EventCode.PAUSED,
        EventCode.ROLLED_BACK,
        EventCode.COMPLETED,
    )
)
# Events after which the wedge holds the exposure their ``target_percentage``
# records (0 after a rollback): the exposure's history, step by step.
EXPOSURE_EVENTS: Final = POLICY_EVENTS | {
    EventCode.WEDGE_STARTED.value,
    EventCode.WEDGE_RESUMED.value,
}

# Every step of a waiver's life: its trail.
WAIVER_EVENTS: Final = frozenset(
    code.value
    for code in (
        EventCode.WAIVER_REQUESTED,
        EventCode.WAIVER_APPROVAL_GIVEN,
        EventCode.WAIVER_APPROVED,
        EventCode.WAIVER_REJECTED,
        EventCode.WAIVER_EXPIRED,
        EventCode.WAIVER_REVOKED,
        EventCode.WAIVER_APPLIED,
    )
)


# What a canary in a deployer (Flagger, Argo Rollouts) told Wedge, and what
# Wedge refused it.
GATE_EVENTS: Final = frozenset(
    code.value
    for code in (
        EventCode.CANARY_BOUND,
        EventCode.CANARY_EVENT,
        EventCode.CANARY_FAILED,
        EventCode.GATE_REFUSED,
        EventCode.CANARY_DETACHED,
    )
)


# Every step of a policy change's review.
POLICY_CHANGE_EVENTS: Final = frozenset(
    code.value
    for code in (
        EventCode.POLICY_VERSION_PROPOSED,
        EventCode.POLICY_VERSION_APPROVED,
        EventCode.POLICY_VERSION_REJECTED,
        EventCode.POLICY_VERSION_WITHDRAWN,
    )
)


def describe(code: str) -> str:
    """The human meaning of ``code``; unknown codes are returned as they are."""
    try:
        return str(EventCode(code).label)
    except ValueError:
        return code
