"""A rollout's events told in sentences, from the structured data each event records.

The engine and the services record on every RWG-002 and RWG-003 what the
decision rested on (``data``: the rule, the trigger's result with the values
it read, the criteria, what blocked a stage, the exposure before a rollback;
``metrics``: the snapshot). The sentences here are built from that data only,
never by parsing the ``reason`` text, so they stay right when a reason's
wording changes. An event recorded before a field existed falls back to its
reason, which is always human text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.codes import EventCode
from audit.models import AuditEvent
from org.humane import percent
from wedges.policy import codes
from wedges.policy.explain import describe, holding, shown, terms
from wedges.policy.expressions import ExpressionError
from wedges.policy.units import parse_quantity

SYSTEM = "system"

# What kept a stage from becoming eligible (``Decision.blocked_by``), in words.
_BLOCKERS = {
    codes.RULE_NO_SNAPSHOT: "no metrics were received",
    codes.RULE_SNAPSHOT_BEFORE_STAGE: "no metrics arrived during the stage",
    codes.RULE_STALE_SNAPSHOT: "the latest metrics were too old to count",
    codes.RULE_CRITERIA_UNMET: "its success criteria were not met",
}


def acted_by_system(event: AuditEvent) -> bool:
    return event.actor_id is None and event.actor_label == SYSTEM


def by_whom(event: AuditEvent) -> str:
    """ "by Wedge, automatically" or "by dave"."""
    if acted_by_system(event):
        return "by Wedge, automatically"
    return f"by {event.actor_label}"


def _data(event: AuditEvent) -> Mapping[str, Any]:
    return event.data if isinstance(event.data, Mapping) else {}


def _stage(event: AuditEvent) -> str:
    return event.stage_id or "the stage"


def rollback_cause(event: AuditEvent, max_blast_radius: float) -> str:
    """Why an RWG-003 happened: "error_rate 0.09 > 0.05 (rollback trigger of stage canary)"."""
    data = _data(event)
    if data.get("operator_action"):
        exposure = data.get("exposure_before")
        at = f" at {percent(exposure)} exposure" if isinstance(exposure, int | float) else ""
        return f"an operator rolled it back{at}"
    rule = data.get("rule")
    if rule == codes.RULE_BLAST:
        return _blast_cause(event, max_blast_radius)
    trigger = data.get("trigger")
    if rule == codes.RULE_ROLLBACK and isinstance(trigger, Mapping):
        fired = _fired(trigger)
        if fired:
            return f"{fired} (rollback trigger of stage {_stage(event)})"
    return event.reason or "the rollout was rolled back"


def _fired(trigger: Mapping[str, Any]) -> str:
    expression, values = trigger.get("expression"), trigger.get("values")
    if not isinstance(expression, str) or not isinstance(values, Mapping):
        return ""
    try:
        return " and ".join(str(term) for term in holding(expression, values))
    except ExpressionError:
        return ""


def _blast_cause(event: AuditEvent, max_blast_radius: float) -> str:
    reported = parse_quantity((event.metrics or {}).get(codes.EXPOSURE_METRIC))
    if reported is not None and reported.unit in (None, "%"):
        return (
            f"the deployer reported {percent(reported.value)} exposure, above the max blast "
            f"radius of {percent(max_blast_radius)}"
        )
    return (
        f"stage {_stage(event)} would expose more than the max blast radius of "
        f"{percent(max_blast_radius)}"
    )


def pause_cause(
    event: AuditEvent, observation_window_hours: float, multiple: int | None = None
) -> str:
    """Why an RWG-002 happened, in a sentence without its time or actor."""
    data = _data(event)
    if data.get("operator_action"):
        return "an operator put the rollout on hold"
    if data.get("rule") == codes.RULE_PAUSE_3X:
        window = f"{observation_window_hours:g} h"
        blocked = _blocked(data)
        return (
            f"stage {_stage(event)} stayed {multiple or _multiple(data)} times its {window} "
            f"observation window without becoming eligible{': ' + blocked if blocked else ''}"
        )
    return event.reason or "the rollout was paused"


def _multiple(data: Mapping[str, Any]) -> int:
    """The pause multiple the event recorded, or version 1's for events from before."""
    recorded = data.get("pause_after_windows")
    return recorded if isinstance(recorded, int) else codes.PAUSE_AFTER_WINDOWS


def _blocked(data: Mapping[str, Any]) -> str:
    blocker = data.get("blocked_by")
    unmet = _unmet(data.get("criteria"))
    if blocker == codes.RULE_CRITERIA_UNMET or (blocker is None and unmet):
        return f"{_BLOCKERS[codes.RULE_CRITERIA_UNMET]} ({unmet})" if unmet else ""
    return _BLOCKERS.get(str(blocker), "")


def _unmet(criteria: object) -> str:
    """ "error_rate 0.02, needs below 0.01" for each unmet criterion the data recorded."""
    if not isinstance(criteria, list):
        return ""
    found: list[str] = []
    for result in criteria:
        if not isinstance(result, Mapping) or result.get("met"):
            continue
        expression, values = result.get("expression"), result.get("values") or {}
        if not isinstance(expression, str) or not isinstance(values, Mapping):
            continue
        try:
            found += [describe(term) for term in terms(expression, values) if not term.holds]
        except ExpressionError:
            continue
    return "; ".join(dict.fromkeys(found))


def advance_cause(event: AuditEvent) -> str:
    """Why an RWG-001 (or RWG-004) happened: the criteria it met, with their values."""
    data = _data(event)
    criteria = data.get("criteria")
    if data.get("rule") != codes.RULE_STAGED or not isinstance(criteria, list):
        return event.reason
    readings: list[str] = []
    for result in criteria:
        if isinstance(result, Mapping) and isinstance(result.get("values"), Mapping):
            readings += [f"{name} {shown(value)}" for name, value in result["values"].items()]
    met = "observed for its window with every success criterion met"
    return f"{met} ({', '.join(dict.fromkeys(readings))})" if readings else met


def event_summary(event: AuditEvent, *, max_blast_radius: float, window_hours: float) -> str:
    """One line for an event in a table: what it rested on, from its data; else its reason.

    An operator's own reason comes first when they gave one.
    """
    if event.code == EventCode.ROLLED_BACK:
        cause = rollback_cause(event, max_blast_radius)
    elif event.code == EventCode.PAUSED:
        cause = pause_cause(event, window_hours)
    elif event.code in (EventCode.STAGE_ADVANCED, EventCode.COMPLETED) and acted_by_system(event):
        cause = advance_cause(event)
    elif event.code == EventCode.ADVANCE_REFUSED:
        decision = _data(event).get("decision")
        cause = f"not eligible: {decision}" if decision else ""
        return f"{event.reason} — {cause}" if event.reason and cause else event.reason or cause
    else:
        return event.reason
    if event.reason and not acted_by_system(event):
        return f"“{event.reason}” — {cause}"
    return cause
