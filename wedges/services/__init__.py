"""The services that change proposals and wedges: each one transaction, locked and audited.

* ``proposals``: ``proposal_submit`` stores a checked submission;
* ``rollout``: the rollout engine's shell — ``wedge_start``, ``wedge_record_snapshot``,
  ``wedge_approve_advance``, ``wedge_pause``, ``wedge_resume``, ``wedge_rollback`` and the
  beat's ``wedges_tick`` apply the policy's decisions under a row lock; ``wedge_hold``
  (a system pause) and ``wedge_rollback_on_alert`` serve the apps above (metric
  providers, Alertmanager);
* ``snapshots``: ``snapshots_prune``, the retention of metric snapshots.

Callers import from here; the modules are the places to read. Their refusals
are in ``wedges.errors``; a snapshot's body is checked by ``wedges.metrics``.
"""

from wedges.errors import IdempotencyConflict, RolloutRefused, SubmissionRejected
from wedges.services.proposals import Submitted, proposal_submit, request_fingerprint
from wedges.services.rollout import (
    Outcome,
    TickReport,
    wedge_approve_advance,
    wedge_hold,
    wedge_pause,
    wedge_record_snapshot,
    wedge_resume,
    wedge_rollback,
    wedge_rollback_on_alert,
    wedge_start,
    wedges_tick,
)
from wedges.services.snapshots import PruneReport, snapshots_prune

__all__ = [
    "IdempotencyConflict",
    "Outcome",
    "PruneReport",
    "RolloutRefused",
    "SubmissionRejected",
    "Submitted",
    "TickReport",
    "proposal_submit",
    "request_fingerprint",
    "snapshots_prune",
    "wedge_approve_advance",
    "wedge_hold",
    "wedge_pause",
    "wedge_record_snapshot",
    "wedge_resume",
    "wedge_rollback",
    "wedge_rollback_on_alert",
    "wedge_start",
    "wedges_tick",
]
