"""What the dashboard and the proposal page show about a running rollout.

Pure reads: the policy's decision for the wedge now, turned into the numbers a
person needs (stage n of m, time in stage against the window, each criterion
with its latest value, when it may advance next).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from audit.codes import EventCode
from audit.models import AuditEvent
from org.humane import percent, relative, span
from webhooks.selectors import Announcement
from wedges import narrative
from wedges.models import RolloutWedge, State
from wedges.policy import codes, explain
from wedges.policy.codes import AUTOMATIC_POLICIES, INITIAL_STAGE_ID, INITIAL_STAGE_INDEX
from wedges.policy.engine import (
    Action,
    CriterionResult,
    Decision,
    saturating_hours,
    saturating_plus,
)
from wedges.policy.expressions import ExpressionError
from wedges.services.rollout import decide


@dataclass(frozen=True)
class RolloutStatus:
    wedge: RolloutWedge
    decision: Decision | None
    stage_number: int  # 0 for the implicit hold, 1..m for declared stages
    stage_count: int
    stage_id: str | None
    time_in_stage: timedelta | None
    window: timedelta
    next_advance_at: datetime | None
    now: datetime | None = None

    @property
    def stage_label(self) -> str:
        """ "Stage 2 of 3: early", "Initial hold before stage 1 of 3", "Not started"."""
        if self.stage_id is None:
            return "Not started"
        if self.stage_number == 0:
            return f"Initial hold before stage 1 of {self.stage_count}"
        return f"Stage {self.stage_number} of {self.stage_count}: {self.stage_id}"

    @property
    def readings(self) -> tuple[Reading, ...]:
        """The current stage's criteria, each with its verdict in words."""
        return tuple(Reading.of(result) for result in self.criteria)

    @property
    def waiting(self) -> str:
        """What the stage waits for, in a sentence ("" when nothing, or not running)."""
        decision = self.decision
        if decision is None or decision.action != Action.NONE:
            return ""
        return _waiting(self, decision)

    @property
    def window_progress(self) -> int:
        """Percent of the observation window elapsed (capped at 100)."""
        if self.time_in_stage is None or not self.window:
            return 0
        return min(100, int(100 * self.time_in_stage / self.window))

    @property
    def criteria(self) -> tuple[CriterionResult, ...]:
        return self.decision.criteria if self.decision else ()

    @property
    def awaiting_approval(self) -> bool:
        return self.decision is not None and self.decision.rule == codes.RULE_AWAITING_APPROVAL

    @property
    def eligible(self) -> bool:
        return bool(self.decision and self.decision.eligible)

    @property
    def waiting_for(self) -> str:
        if self.decision is None or self.decision.action != Action.NONE:
            return ""
        return self.decision.reason


def rollout_status(wedge: RolloutWedge, now: datetime) -> RolloutStatus:
    """The display model of a wedge (stages and latest snapshot should be preloaded)."""
    view = wedge.policy_view()
    index = wedge.current_stage_index
    running = wedge.wedge_state in (State.ACTIVE, State.PAUSED)
    decision = decide(wedge, now) if running else None
    return RolloutStatus(
        now=now,
        wedge=wedge,
        decision=decision,
        stage_number=(index + 1) if index is not None else 0,
        stage_count=len(view.stages),
        stage_id=wedge.current_stage_id,
        time_in_stage=(now - wedge.stage_opened_at) if running and wedge.stage_opened_at else None,
        # Stored plans may predate the bound on their hours: a window past the
        # calendar's end saturates, and "never" is None, not an error on a page
        # everyone uses.
        window=view.observation_window,
        next_advance_at=decision.advance_at if decision is not None else None,
    )


@dataclass(frozen=True)
class Reading:
    """A criterion of the open stage with its verdict: met, not met, or no data yet."""

    expression: str
    verdict: str  # "met", "unmet", "no-data"
    detail: str  # "error_rate 0.004" / "error_rate 0.02, needs below 0.01" / "no data yet"

    @property
    def verdict_label(self) -> str:
        return {"met": "Met", "unmet": "Not met", "no-data": "No data yet"}[self.verdict]

    @classmethod
    def of(cls, result: CriterionResult) -> Reading:
        values = result.values_dict()
        if not values:
            return cls(result.expression, "no-data", "no data yet")
        try:
            found = explain.terms(result.expression, values)
        except ExpressionError:
            found = ()
        if result.met:
            shown = ", ".join(f"{t.metric} {explain.shown(t.value)}" for t in found if t.reported)
            return cls(result.expression, "met", shown)
        missing = [t for t in found if not t.holds]
        return cls(result.expression, "unmet", "; ".join(explain.describe(t) for t in missing))


def _waiting(status: RolloutStatus, decision: Decision) -> str:
    now = status.now
    rule = decision.rule
    if rule == codes.RULE_OBSERVE:
        end = decision.eligible_at
        return (
            f"Observing: the {status.window and span(status.window)} observation window ends "
            f"{relative(end, now) if end and now else 'never'}."
        )
    if rule == codes.RULE_NO_SNAPSHOT:
        return "Waiting for metrics: none have been received yet."
    if rule == codes.RULE_SNAPSHOT_BEFORE_STAGE:
        return "Waiting for metrics: none have arrived since this stage opened."
    if rule == codes.RULE_STALE_SNAPSHOT:
        return "Waiting for fresh metrics: the latest are too old to count."
    if rule == codes.RULE_CRITERIA_UNMET:
        unmet = [r.detail for r in status.readings if r.verdict != "met"]
        return f"Waiting for the success criteria: {'; '.join(unmet)}."
    if rule == codes.RULE_DURATION_PENDING:
        at = decision.advance_at
        when = relative(at, now) if at and now else "when its planned duration has passed"
        return f"Eligible; advances by itself {when}, once its planned duration has passed."
    if rule == codes.RULE_AWAITING_APPROVAL:
        return "Eligible: waiting for an operator to approve the advance."
    if rule == codes.RULE_BLAST:
        return "Not advancing: the next stage would expose more than the max blast radius."
    if rule == codes.RULE_PAUSED:
        return "Paused: it neither advances nor pauses again until an operator resumes it."
    return ""


# --- The proposal page's status header and stage stepper --------------------------------------

# The events after which a wedge is in the state they name, newest wins.
_STATE_EVENTS = {
    # For ACTIVE, also each advance: the latest exposure deployers were told.
    State.ACTIVE: (EventCode.WEDGE_STARTED, EventCode.WEDGE_RESUMED, EventCode.STAGE_ADVANCED),
    State.PAUSED: (EventCode.PAUSED,),
    State.ROLLED_BACK: (EventCode.ROLLED_BACK,),
    State.COMPLETE: (EventCode.COMPLETED,),
}
# Events that open a stage: their stage_id is the stage opened.
_OPENING = (EventCode.WEDGE_STARTED, EventCode.STAGE_ADVANCED)


@dataclass(frozen=True)
class Headline:
    """The state of a rollout in words: what, since when, why, by whom, what deployers know."""

    state: str
    label: str
    since: datetime | None
    cause: str  # for PAUSED and ROLLED_BACK: why, in a sentence; else ""
    actor: str  # "by dave" / "by Wedge, automatically"; "" when unknown
    note: str  # who started or resumed it, or the operator's own reason, in a sentence
    told: str  # what the deployers were told, in a sentence
    event: AuditEvent | None  # the event that put the wedge in this state

    @property
    def tone(self) -> str:
        """The CSS modifier of the state's colour."""
        return self.state.lower().replace("_", "-")


def _last(events: Sequence[AuditEvent], wanted: Iterable[str]) -> AuditEvent | None:
    codes_wanted = set(wanted)
    for event in reversed(events):
        if event.code in codes_wanted:
            return event
    return None


def last_state_event(wedge: RolloutWedge, events: Sequence[AuditEvent]) -> AuditEvent | None:
    """The event that put the wedge in its current state (``None`` while PENDING)."""
    return _last(events, _STATE_EVENTS.get(State(wedge.wedge_state), ()))


def headline(
    wedge: RolloutWedge,
    events: Sequence[AuditEvent],
    announcement: Announcement | None = None,
) -> Headline:
    """The status header of a proposal page; ``events`` oldest first."""
    state = wedge.wedge_state
    event = last_state_event(wedge, events)
    if state == State.ACTIVE:
        since = wedge.started_at
    elif event is not None:
        since = event.occurred_at
    else:
        since = wedge.finished_at or wedge.proposal.created_at
    cause = ""
    if event is not None and state == State.ROLLED_BACK:
        cause = narrative.rollback_cause(event, wedge.max_blast_radius)
    elif event is not None and state == State.PAUSED:
        cause = narrative.pause_cause(
            event, wedge.observation_window_hours, wedge.thresholds.pause_after_windows
        )
    acting = event is not None and state in (State.PAUSED, State.ROLLED_BACK, State.COMPLETE)
    return Headline(
        state=state,
        label=State(state).label,
        since=since,
        cause=cause,
        actor=narrative.by_whom(event) if acting and event is not None else "",
        note=_note(wedge, events, event),
        told=_told(wedge, announcement),
        event=event,
    )


def _note(wedge: RolloutWedge, events: Sequence[AuditEvent], event: AuditEvent | None) -> str:
    """ "Started by dave: “change window”" for a running wedge; an operator's reason else."""
    if wedge.wedge_state == State.ACTIVE:
        begun = _last(events, (EventCode.WEDGE_STARTED, EventCode.WEDGE_RESUMED))
        if begun is None:
            return ""
        verb = "Started" if begun.code == EventCode.WEDGE_STARTED else "Resumed"
        said = f": “{begun.reason}”" if begun.reason else "."
        return f"{verb} {narrative.by_whom(begun)}{said}"
    if event is not None and event.reason and not narrative.acted_by_system(event):
        return f"Reason given by {event.actor_label}: “{event.reason}”"
    return ""


def _told(wedge: RolloutWedge, announcement: Announcement | None) -> str:
    """What deployers were told, from the desired state and the webhooks' progress."""
    exposure = percent(wedge.exposure_percentage)
    state = wedge.wedge_state
    if state == State.PENDING:
        return "Deployers are told to expose nothing (0 %) until the rollout starts."
    verb = {
        State.ACTIVE: f"to hold {exposure}",
        State.PAUSED: f"to hold {exposure} while paused",
        State.ROLLED_BACK: "to go back to 0 % (nothing exposed)",
        State.COMPLETE: f"to keep {exposure}",
    }[State(state)]
    sentence = f"The desired state tells deployers {verb}"
    if announcement is None:
        return sentence + "."
    if announcement.subscribers == 0:
        return sentence + (
            "; no webhook subscribes to this event."
            if announcement.fanned_out
            else "; the webhooks are on their way."
        )
    tally = f"{announcement.delivered} of {announcement.subscribers} webhook"
    tally += "s" if announcement.subscribers != 1 else ""
    parts = [f"{tally} delivered"]
    if announcement.pending:
        parts.append(f"{announcement.pending} still trying")
    if announcement.failed:
        parts.append(f"{announcement.failed} given up")
    return f"{sentence}; {', '.join(parts)}."


@dataclass(frozen=True)
class Step:
    """One rung of the stage stepper."""

    stage_id: str
    label: str  # "Initial hold", "Stage 2 of 4"
    exposure: float
    status: str  # "done", "current", "paused", "failed", "pending", "not-reached"
    opened_at: datetime | None
    closed_at: datetime | None
    planned: timedelta | None  # how long the stage is planned to hold, at least
    advance_at: datetime | None  # current stage: when it may advance
    planned_start: datetime | None  # pending stages of a running wedge: earliest start

    @property
    def status_label(self) -> str:
        return _STEP_LABELS[self.status]

    @property
    def took(self) -> timedelta | None:
        if self.opened_at is None or self.closed_at is None:
            return None
        return self.closed_at - self.opened_at


_STEP_LABELS = {
    "done": "Done",
    "current": "Current",
    "paused": "Paused here",
    "failed": "Rolled back here",
    "pending": "Pending",
    "not-reached": "Not reached",
}


def planned_hold(wedge: RolloutWedge, duration_hours: float) -> timedelta | None:
    """The least a stage holds: its window, and for automatic wedges its duration too."""
    window = saturating_hours(wedge.observation_window_hours)
    if wedge.increment_policy in AUTOMATIC_POLICIES:
        return max(window, saturating_hours(duration_hours))
    return window


def stage_steps(
    wedge: RolloutWedge, events: Sequence[AuditEvent], status: RolloutStatus, now: datetime
) -> list[Step]:
    """The stepper: the implicit initial hold (when the plan has one) and every stage."""
    view = wedge.policy_view()
    opened: dict[str, datetime] = {}
    for event in events:
        if event.code in _OPENING and event.stage_id and event.stage_id not in opened:
            opened[event.stage_id] = event.occurred_at
    rungs: list[tuple[int, str, float, float]] = []  # index, id, exposure, duration
    if view.initial_percentage < view.stages[0].target_percentage:
        first = view.stages[0]
        rungs.append(
            (INITIAL_STAGE_INDEX, INITIAL_STAGE_ID, view.initial_percentage, first.duration_hours)
        )
    rungs += [
        (index, stage.stage_id, stage.target_percentage, stage.duration_hours)
        for index, stage in enumerate(view.stages)
    ]
    state = wedge.wedge_state
    current = wedge.current_stage_index
    total = len(view.stages)
    steps: list[Step] = []
    cursor = status.next_advance_at if state == State.ACTIVE else None
    for position, (index, stage_id, exposure, duration) in enumerate(rungs):
        next_opened = opened.get(rungs[position + 1][1]) if position + 1 < len(rungs) else None
        planned = planned_hold(wedge, duration)
        if state == State.PENDING or current is None:
            step_status = "pending"
        elif index < current or state == State.COMPLETE:
            step_status = "done"
        elif index == current:
            step_status = {State.PAUSED: "paused", State.ROLLED_BACK: "failed"}.get(
                State(state), "current"
            )
        else:
            step_status = "not-reached" if state == State.ROLLED_BACK else "pending"
        closed = None
        if step_status == "done":
            closed = next_opened or wedge.finished_at
        elif step_status == "failed":
            closed = wedge.finished_at
        planned_start = None
        if step_status == "pending" and state == State.ACTIVE and cursor is not None:
            # A stage past its earliest time waits for something else (an approval,
            # its criteria): it starts "now" at the earliest, not in the past.
            planned_start = max(cursor, now)
            cursor = saturating_plus(planned_start, planned) if planned is not None else None
        steps.append(
            Step(
                stage_id=stage_id,
                label=(
                    "Initial hold"
                    if index == INITIAL_STAGE_INDEX
                    else f"Stage {index + 1} of {total}"
                ),
                exposure=exposure,
                status=step_status,
                opened_at=opened.get(stage_id) if step_status != "pending" else None,
                closed_at=closed,
                planned=planned,
                advance_at=status.next_advance_at if step_status == "current" else None,
                planned_start=planned_start,
            )
        )
    return steps
