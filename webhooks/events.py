"""Which events reach webhook subscribers, and how those recorded elsewhere get there.

Two ways into the one outbox, one per kind of event:

* the rollout services announce their own transitions (``ROLLOUT_ANNOUNCED``)
  with the wedge's state, in the transition's transaction
  (``wedges.services.rollout``);
* every other event is announced straight from the audit trail the moment it
  is recorded (``AUDIT_ANNOUNCED``, by the audit listener
  ``webhooks.services.announce_recorded``): waiver steps, a canary's failure, a
  metric provider failing or answering again (WDG-601, WDG-602),
  and whatever code is added to the set. An event a service records is
  therefore delivered in every format (JSON, Slack, Teams) without that
  service knowing about webhooks.

A subscription may ask only for codes in ``DELIVERABLE``: any other would
never arrive.
"""

from __future__ import annotations

from typing import Any, Final

from audit.codes import GATE_EVENTS, POLICY_EVENTS, WAIVER_EVENTS, EventCode
from audit.models import AuditEvent

ROLLOUT_ANNOUNCED: Final = POLICY_EVENTS | {
    EventCode.WEDGE_STARTED.value,
    EventCode.WEDGE_RESUMED.value,
    EventCode.AWAITING_APPROVAL.value,
}
# Add a code here and subscribers may ask for it: it is delivered, in every
# format, from the moment the audit trail records it.
AUDIT_ANNOUNCED: Final = (
    WAIVER_EVENTS
    | (GATE_EVENTS & {EventCode.CANARY_FAILED.value})
    | {EventCode.METRICS_FAILING.value, EventCode.METRICS_RECOVERED.value}
)
DELIVERABLE: Final = ROLLOUT_ANNOUNCED | AUDIT_ANNOUNCED


def audit_payload(event: AuditEvent) -> dict[str, Any]:
    """The delivery payload of an event announced from the audit trail."""
    payload: dict[str, Any] = {
        "event": event.code,
        "proposal_id": event.proposal_id,
        "stage_id": event.stage_id,
        "exposure_percentage": (
            float(event.target_percentage) if event.target_percentage is not None else None
        ),
        "reason": event.reason,
        "actor": event.actor_label,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
    if event.waiver_id is not None:
        payload["waiver_id"] = event.waiver_id
    cluster = event.data.get("cluster") if isinstance(event.data, dict) else None
    if isinstance(cluster, str) and cluster:
        payload["cluster"] = cluster
    return payload
