"""The rollout engine's service layer: it applies the policy's decisions.

``wedges.policy.engine.decide`` says what must happen; the services here do it
under a row lock, re-deciding under the lock so that concurrent snapshots,
beat ticks and operators produce exactly one outcome and one event. Every
transition writes its audit event and its webhook outbox rows in the same
transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import record_event
from org.models import User
from webhooks.models import OutboxEvent
from webhooks.services import enqueue
from wedges import errors, hooks, notifications
from wedges.errors import RolloutRefused
from wedges.models import (
    ChangeProposal,
    EvidenceSource,
    MetricSnapshot,
    RolloutWedge,
    State,
    WedgeStage,
)
from wedges.policy import codes
from wedges.policy.engine import (
    Action,
    CriterionResult,
    Decision,
    held_exposure,
    initial_stage_index,
    merge_evidence,
)
from wedges.policy.engine import decide as policy_decide
from wedges.policy.engine import due_at as policy_due_at
from wedges.services.timing import rollback_timing_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    wedge: RolloutWedge
    decision: Decision | None
    acted: bool


@dataclass
class TickReport:
    examined: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)  # proposal ids whose wedge raised


# --- Deciding for stored wedges -----------------------------------------------------------


def freshness() -> timedelta:
    return timedelta(seconds=settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS)


def decide(wedge: RolloutWedge, now: datetime, *, operator_approval: bool = False) -> Decision:
    """The policy's decision for a stored wedge and its latest snapshot."""
    snapshot = wedge.latest_snapshot
    return policy_decide(
        wedge.policy_view(),
        snapshot.policy_view() if snapshot is not None else None,
        now,
        freshness=freshness(),
        operator_approval=operator_approval,
    )


def movable(decision: Decision, wedge: RolloutWedge, now: datetime) -> Decision:
    """``decision``, unless it advances or completes a wedge an app above holds (``wedges.hooks``).

    A held decision stays where the wedge is (``NONE``), keeps the engine's
    evidence and eligibility, and names the hold's rule and reason.
    """
    if decision.action not in (Action.ADVANCE, Action.COMPLETE):
        return decision
    hold = hooks.advance_hold(wedge, now)
    if hold is None:
        return decision
    return replace(
        decision,
        action=Action.NONE,
        rule=hold.rule,
        reason=hold.reason,
        target_index=wedge.current_stage_index,
        target_percentage=wedge.exposure_percentage,
    )


def _locked(proposal_id: int, among: QuerySet[RolloutWedge] | None = None) -> RolloutWedge:
    """The wedge under its row lock, with what deciding reads; its stages come from the
    plan this process keeps (``wedges.models.stage_plan``): one statement.

    ``among``: the wedges the caller may reach (its visibility filters), applied
    in the same statement; a wedge outside them is ``RolloutWedge.DoesNotExist``.
    """
    wedges = RolloutWedge.objects.all() if among is None else among
    return (
        wedges.select_for_update(of=("self",))
        .select_related("proposal__subsystem", "latest_snapshot", "policy_version")
        .get(proposal_id=proposal_id)
    )


# --- Applying a transition ----------------------------------------------------------------

# A transition saves exactly the engine's fields; the plan stays frozen.
_SAVED = sorted(RolloutWedge.ENGINE_FIELDS)
# The most metrics the evidence of one stage keeps: a pusher that names new
# metrics in every snapshot cannot grow it without bound; the newest stay.
MAX_EVIDENCE = 200


def _evidence_metrics(wedge: RolloutWedge) -> dict[str, Any]:
    """The metric snapshot at the decision point, as the audit trail records it."""
    return wedge.latest_snapshot.evidence_metrics() if wedge.latest_snapshot else {}


def _save_transition(wedge: RolloutWedge, now: datetime) -> None:
    """Save a transition's fields, with when the beat tick must next look at the wedge."""
    wedge.reschedule(now, freshness=freshness())
    wedge.save(update_fields=_SAVED)


# What an event's data may add to its delivery: the cluster whose canary
# caused it (a rollback a deployer reported, ``gates``).
_ANNOUNCED_DATA = ("cluster", "canary")


def _announce(
    wedge: RolloutWedge,
    *,
    code: str,
    now: datetime,
    actor: User | None,
    reason: str,
    metrics: dict[str, Any] | None,
    data: dict[str, Any] | None = None,
) -> tuple[AuditEvent, OutboxEvent]:
    """Audit event and webhook outbox rows for a transition, in its transaction."""
    stage_id = wedge.current_stage_id or ""
    event = record_event(
        code=code,
        actor=actor,
        proposal_id=wedge.proposal_id,
        stage_id=stage_id,
        target_percentage=wedge.exposure_percentage,
        metrics=metrics or {},
        reason=reason,
        data=data or {},
        occurred_at=now,
    )
    proposal = wedge.proposal
    payload: dict[str, Any] = {
        "event": code,
        "proposal_id": wedge.proposal_id,
        "title": proposal.title,
        "subsystem": proposal.subsystem.slug,
        "reference": proposal.external_reference,
        "wedge_state": wedge.wedge_state,
        "stage_id": stage_id,
        "exposure_percentage": wedge.exposure_percentage,
        "max_blast_radius": wedge.max_blast_radius,
        "reason": reason,
        "occurred_at": now.isoformat(),
    }
    payload.update({key: data[key] for key in _ANNOUNCED_DATA if data and data.get(key)})
    outbox = enqueue(event_code=code, proposal_id=wedge.proposal_id, payload=payload, now=now)
    # After the outbox row: its publication is queued first when the transaction commits.
    notifications.rollout_stopped(wedge, event, actor=actor)
    return event, outbox


def _time_rollback(
    wedge: RolloutWedge,
    announced: tuple[AuditEvent, OutboxEvent],
    *,
    source: EvidenceSource,
    evidence_at: datetime,
    now: datetime,
    started: float,
) -> None:
    """The rollback's timing row (INV-RWG-ROLLBACK as measured): its transaction's last write."""
    event, outbox = announced
    rollback_timing_record(
        wedge=wedge,
        event=event,
        outbox=outbox,
        source=source,
        evidence_at=evidence_at,
        now=now,
        started=started,
    )


def _snapshot_source(wedge: RolloutWedge) -> EvidenceSource:
    snapshot = wedge.latest_snapshot
    if snapshot is not None and snapshot.reported_by_id is None:
        return EvidenceSource.SNAPSHOT_POLLED
    return EvidenceSource.SNAPSHOT_PUSHED


def _apply(
    wedge: RolloutWedge,
    decision: Decision,
    *,
    now: datetime,
    actor: User | None,
    reason: str = "",
    started: float | None = None,
) -> bool:
    """Carry out an engine decision on a locked wedge. Returns whether anything changed.

    ``started``: the monotonic clock when the operation began (a rollback's timing).
    """
    metrics = _evidence_metrics(wedge)
    data: dict[str, Any] = {
        "rule": decision.rule,
        "decision": decision.reason,
        "criteria": [_result(c) for c in decision.criteria],
    }
    why = reason or decision.reason
    if decision.action == Action.ADVANCE:
        assert decision.target_index is not None
        assert decision.target_percentage is not None
        wedge.advance(
            now=now, stage_index=decision.target_index, exposure=decision.target_percentage
        )
    elif decision.action == Action.COMPLETE:
        wedge.complete(now=now)
    elif decision.action == Action.PAUSE:
        data["blocked_by"] = decision.blocked_by
        data["pause_after_windows"] = wedge.thresholds.pause_after_windows
        data["policy_version"] = wedge.policy_version.number if wedge.policy_version else 1
        wedge.pause()
    elif decision.action == Action.ROLLBACK:
        data.update(_rollback_evidence(wedge, decision))
        wedge.rollback(now=now)
    else:
        return False
    _save_transition(wedge, now)
    assert decision.event_code is not None
    announced = _announce(
        wedge,
        code=decision.event_code,
        now=now,
        actor=actor,
        reason=why,
        metrics=metrics,
        data=data,
    )
    if decision.action == Action.ROLLBACK:
        # The engine rolls back on the stage's evidence: the latest snapshot,
        # accepted (and evaluated) the moment it arrived.
        snapshot = wedge.latest_snapshot
        _time_rollback(
            wedge,
            announced,
            source=_snapshot_source(wedge),
            evidence_at=snapshot.received_at if snapshot is not None else now,
            now=now,
            started=time.monotonic() if started is None else started,
        )
    return True


def _result(result: CriterionResult) -> dict[str, Any]:
    return {"expression": result.expression, "met": result.met, "values": result.values_dict()}


def _rollback_evidence(wedge: RolloutWedge, decision: Decision) -> dict[str, Any]:
    """What every RWG-003 records, whoever rolls back: the exposure the wedge was caught
    at, when the latest evidence arrived and what the stage's trigger made of it.

    The governance report reads these off the event alone (exposure at catch,
    trigger to rollback). Call it on the locked wedge before the rollback sets
    the exposure to 0.
    """
    evidence: dict[str, Any] = {"exposure_before": wedge.exposure_percentage}
    if wedge.latest_snapshot is not None:
        evidence["trigger_received_at"] = wedge.latest_snapshot.received_at.isoformat()
    if decision.trigger is not None:
        evidence["trigger"] = _result(decision.trigger)
    return evidence


# --- Services -----------------------------------------------------------------------------


def wedge_start(
    *, proposal_id: int, actor: User, reason: str = "", now: datetime | None = None
) -> RolloutWedge:
    """PENDING -> ACTIVE: exposure to the initial percentage (or stage 1's target)."""
    now = now or timezone.now()
    with transaction.atomic():
        wedge = _locked(proposal_id)
        proposal = wedge.proposal
        if wedge.wedge_state != State.PENDING:
            raise RolloutRefused(
                errors.INVALID_TRANSITION,
                f"The wedge is {wedge.wedge_state}; only a PENDING wedge can start.",
            )
        # What the apps above wedges require of a start (an active waiver).
        # Lock order: wedge first, then waiver; the waiver services never lock
        # a wedge, so a revocation or expiry cannot commit between the check
        # and the start (``wedges.hooks``).
        facts = hooks.run_start_checks(proposal, now)
        view = wedge.policy_view()
        index = initial_stage_index(view)
        wedge.start(now=now, stage_index=index, exposure=held_exposure(view, index))
        _save_transition(wedge, now)
        _announce(
            wedge,
            code=EventCode.WEDGE_STARTED,
            now=now,
            actor=actor,
            reason=reason,
            metrics=None,
            data=facts or None,
        )
    return wedge


def wedge_record_snapshot(
    *,
    proposal_id: int,
    metrics: dict[str, Any],
    actor: User | None,
    now: datetime | None = None,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
    among: QuerySet[RolloutWedge] | None = None,
    admit: Callable[[ChangeProposal], None] | None = None,
) -> Outcome:
    """Store a snapshot and evaluate it at once, in this request (INV-RWG-ROLLBACK).

    Pushed and polled snapshots alike come here. ``actor`` is who pushed it
    (``None``: Wedge polled a metric provider itself); ``sources`` says where
    a value came from (``{"error_rate": {"provider", "query"}}``), kept with it
    in the evidence and the audit trail. A value of ``None`` is a metric known
    to be missing now. The snapshot is added to the evidence of the stage (the
    latest value of each metric), which is stored on the new row: the next
    snapshot reads it from the one row the wedge already points at.

    A caller acting for someone passes the wedges they may reach as ``among``
    and its permission check as ``admit`` (it raises to refuse): both are
    applied to the locked read, so a pushed snapshot reads the database once
    before it writes.
    """
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        wedge = _locked(proposal_id, among)
        if admit is not None:
            admit(wedge.proposal)
        if wedge.wedge_state not in (State.ACTIVE, State.PAUSED):
            raise RolloutRefused(
                errors.NOT_RUNNING,
                f"The wedge is {wedge.wedge_state}; metrics are taken only while it runs "
                "(ACTIVE or PAUSED).",
            )
        snapshot = MetricSnapshot.objects.create(
            wedge=wedge,
            received_at=now,
            values=metrics,
            evidence=_merged_evidence(wedge, metrics, now, sources or {}),
            stage_index=wedge.current_stage_index,
            reported_by=actor,
        )
        wedge.latest_snapshot = snapshot
        decision = movable(decide(wedge, now), wedge, now)
        acted = _apply(wedge, decision, now=now, actor=None, started=started)
        if not acted:
            fields = ["latest_snapshot", "updated_at"]
            if wedge.wedge_state == State.ACTIVE:
                # What the tick would store after reading this snapshot, stored
                # now: the tick reads the wedge again when it is due, not
                # because evidence arrived (at 10,000 reporting wedges, that
                # would be every wedge on every tick).
                wedge.due_at = _next_due(wedge, now)
                wedge.due_snapshot_id = snapshot.pk
                fields += ["due_at", "due_snapshot_id"]
            wedge.save(update_fields=fields)
            _note_awaiting_approval(wedge, decision, now)
    return Outcome(wedge, decision, acted)


def _next_due(wedge: RolloutWedge, now: datetime) -> datetime | None:
    """When the tick must next read this ACTIVE wedge on the evidence it has (never before now).

    What ``engine.due_at`` says; a wedge the engine would move but an app
    above holds (``movable``) is due again at once, since such a hold lifts
    without the wedge changing. A manual stage not yet announced is also due
    when its window ends: it may become eligible then, which the tick
    announces (WDG-106) though the engine does not move it.
    """
    snapshot = wedge.latest_snapshot
    due = policy_due_at(
        wedge.policy_view(),
        snapshot.policy_view() if snapshot is not None else None,
        now,
        freshness=freshness(),
    )
    window_end = wedge.window_ends_at
    if (
        wedge.increment_policy not in codes.AUTOMATIC_POLICIES
        and wedge.awaiting_approval_since is None
        and window_end is not None
        and window_end > now
    ):
        due = window_end if due is None else min(due, window_end)
    return None if due is None else max(due, now)


def _merged_evidence(
    wedge: RolloutWedge,
    metrics: Mapping[str, Any],
    now: datetime,
    sources: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """The stage's evidence once ``metrics`` arrive, as stored on the snapshot row."""
    latest = wedge.latest_snapshot
    merged = merge_evidence(
        latest.policy_view() if latest is not None else None,
        metrics,
        now,
        since=wedge.stage_opened_at,
    )
    names = sorted(merged.values, key=merged.arrived, reverse=True)[:MAX_EVIDENCE]
    earlier = latest.evidence if latest is not None else {}
    evidence: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in metrics:
            source = dict(sources.get(name) or {})
        else:
            source = {
                k: v for k, v in earlier.get(name, {}).items() if k not in ("value", "received_at")
            }
        evidence[name] = {
            "value": merged.values[name],
            "received_at": merged.arrived(name).isoformat(),
            **source,
        }
    return evidence


def wedge_hold(
    *,
    proposal_id: int,
    reason: str,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """A pause the system decides (RWG-002 with no actor): a metric provider keeps failing.

    Only an ACTIVE wedge is held; any other state is left as it is. It never
    advances anything. Returns whether the wedge was paused.
    """
    now = now or timezone.now()
    with transaction.atomic():
        wedge = _locked(proposal_id)
        if wedge.wedge_state != State.ACTIVE:
            return False
        wedge.pause()
        _save_transition(wedge, now)
        _announce(
            wedge,
            code=EventCode.PAUSED,
            now=now,
            actor=None,
            reason=reason,
            metrics=_evidence_metrics(wedge),
            data={"rule": codes.RULE_SYSTEM_HOLD, **(data or {})},
        )
    return True


def wedge_rollback_on_alert(
    *,
    proposal_id: int,
    actor: User,
    reason: str,
    alert: Mapping[str, Any],
    now: datetime | None = None,
) -> bool:
    """RWG-003 because an external alert fired for this wedge (Alertmanager).

    The alert (its labels and annotations) is the event's metric snapshot;
    ``actor`` is the account whose token delivered it. Only a running wedge
    rolls back; any other state is left as it is. Returns whether it rolled back.
    """
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        wedge = _locked(proposal_id)
        if wedge.wedge_state not in (State.ACTIVE, State.PAUSED):
            return False
        data: dict[str, Any] = {
            "rule": codes.RULE_EXTERNAL_ALERT,
            "from_state": wedge.wedge_state,
            **_rollback_evidence(wedge, decide(wedge, now)),
            # The trigger is the alert's arrival, not the latest snapshot's.
            "trigger_received_at": now.isoformat(),
        }
        wedge.rollback(now=now)
        _save_transition(wedge, now)
        announced = _announce(
            wedge,
            code=EventCode.ROLLED_BACK,
            now=now,
            actor=actor,
            reason=reason,
            metrics={"alert": dict(alert)},
            data=data,
        )
        _time_rollback(
            wedge, announced, source=EvidenceSource.ALERT, evidence_at=now, now=now, started=started
        )
    return True


def _note_awaiting_approval(wedge: RolloutWedge, decision: Decision, now: datetime) -> bool:
    """Record and announce (WDG-106), once per stage, that a manual stage waits for approval.

    Call on the locked wedge. ``awaiting_approval_since`` is cleared whenever a
    stage opens, so a stage reopened by ``resume`` is announced again.
    """
    if decision.rule != codes.RULE_AWAITING_APPROVAL or wedge.awaiting_approval_since is not None:
        return False
    wedge.awaiting_approval_since = now
    wedge.save(update_fields=["awaiting_approval_since", "updated_at"])
    _announce(
        wedge,
        code=EventCode.AWAITING_APPROVAL,
        now=now,
        actor=None,
        reason=decision.reason,
        metrics=wedge.latest_snapshot.values if wedge.latest_snapshot else {},
        data={"rule": decision.rule, "criteria": [_result(c) for c in decision.criteria]},
    )
    return True


def wedge_approve_advance(
    *, proposal_id: int, actor: User, reason: str = "", now: datetime | None = None
) -> Outcome:
    """An operator's approval: advance an eligible stage (the only way for ``manual``).

    A refusal is audited too (WDG-105: who asked, when, and why not), so it is
    raised only after that event has committed.
    """
    now = now or timezone.now()
    refusal: RolloutRefused | None = None
    with transaction.atomic():
        wedge = _locked(proposal_id)
        if wedge.wedge_state != State.ACTIVE:
            raise RolloutRefused(
                errors.INVALID_TRANSITION,
                f"The wedge is {wedge.wedge_state}; only an ACTIVE wedge advances.",
            )
        decision = movable(decide(wedge, now, operator_approval=True), wedge, now)
        approved = decision.action in (Action.ADVANCE, Action.COMPLETE)
        record_event(
            code=EventCode.ADVANCE_APPROVED if approved else EventCode.ADVANCE_REFUSED,
            actor=actor,
            proposal_id=proposal_id,
            stage_id=wedge.current_stage_id or "",
            target_percentage=wedge.exposure_percentage,
            metrics=_evidence_metrics(wedge),
            reason=reason,
            data={"rule": decision.rule, "decision": decision.reason},
            occurred_at=now,
        )
        if approved:
            _apply(wedge, decision, now=now, actor=actor, reason=reason)
        else:
            refusal = RolloutRefused(
                errors.NOT_ELIGIBLE,
                f"Stage {wedge.current_stage_id!r} is not eligible to advance: {decision.reason}.",
            )
    if refusal is not None:
        raise refusal
    return Outcome(wedge, decision, True)


def wedge_pause(
    *, proposal_id: int, actor: User, reason: str, now: datetime | None = None
) -> RolloutWedge:
    """An operator hold (RWG-002 with the operator as actor)."""
    return _operator_transition(
        proposal_id, actor, reason, now, EventCode.PAUSED, lambda w, _: w.pause()
    )


def wedge_resume(
    *, proposal_id: int, actor: User, reason: str, now: datetime | None = None
) -> RolloutWedge:
    """PAUSED -> ACTIVE, reopening the stage with a fresh observation window."""
    return _operator_transition(
        proposal_id, actor, reason, now, EventCode.WEDGE_RESUMED, lambda w, t: w.resume(now=t)
    )


def wedge_rollback(
    *,
    proposal_id: int,
    actor: User | None,
    reason: str,
    now: datetime | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> RolloutWedge:
    """Roll back (RWG-003): exposure to 0, with the evidence at that moment.

    An operator's rollback names the operator. ``actor=None`` is a rollback the
    system decides on evidence from outside the engine — a deployer's canary
    reported failure (``gates``) — recorded as automatic; ``evidence`` adds
    what it was (the cluster, the canary, when the report arrived), and its
    keys win over the wedge's own.
    """
    extra = dict(evidence or {})
    return _operator_transition(
        proposal_id,
        actor,
        reason,
        now,
        EventCode.ROLLED_BACK,
        lambda w, t: w.rollback(now=t),
        evidence=lambda w, t: {**_rollback_evidence(w, decide(w, t)), **extra},
    )


def _operator_transition(
    proposal_id: int,
    actor: User | None,
    reason: str,
    now: datetime | None,
    code: EventCode,
    transition: Callable[[RolloutWedge, datetime], None],
    *,
    evidence: Callable[[RolloutWedge, datetime], dict[str, Any]] | None = None,
) -> RolloutWedge:
    """An operator's transition; ``evidence`` adds what the wedge showed just before it.

    A rollback is timed from the request itself: an operator's decision, or
    (``actor=None``) a deployer's canary report (``gates``).
    """
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        wedge = _locked(proposal_id)
        before = wedge.wedge_state
        data: dict[str, Any] = {"operator_action": actor is not None, "from_state": before}
        if evidence is not None:
            data.update(evidence(wedge, now))
        try:
            transition(wedge, now)
        except TransitionNotAllowed:
            raise RolloutRefused(
                errors.INVALID_TRANSITION,
                f"{code.label} is not possible: the wedge is {before}.",
            ) from None
        _save_transition(wedge, now)
        announced = _announce(
            wedge,
            code=code,
            now=now,
            actor=actor,
            reason=reason,
            metrics=_evidence_metrics(wedge) or None,
            data=data,
        )
        if code == EventCode.ROLLED_BACK:
            _time_rollback(
                wedge,
                announced,
                source=EvidenceSource.OPERATOR if actor is not None else EvidenceSource.CANARY,
                evidence_at=now,
                now=now,
                started=started,
            )
    return wedge


def wedges_tick(*, now: datetime | None = None) -> TickReport:
    """Evaluate the time-based gates of every running wedge; act on those that must move.

    Only ACTIVE wedges move on time (advance, or pause after three windows);
    PAUSED wedges and triggers move only on snapshots, which are evaluated
    when they arrive. Every transition and every snapshot stores ``due_at``,
    the first moment the engine could move the wedge on time alone
    (``engine.due_at``), so the database hands the tick just the wedges that
    are due, or that have newer evidence than their ``due_at`` was computed
    from (a snapshot written without it). The tick reads those with their latest
    snapshot and stages, decides in memory, locks only those that must change
    (re-deciding under the lock, so two ticks never act twice), and stores the
    next ``due_at`` of the others in one statement. With nothing due it costs
    one indexed query, however many wedges run.
    """
    now = now or timezone.now()
    report = TickReport()
    newer_evidence = ~Q(due_snapshot_id=Coalesce(F("latest_snapshot"), 0))
    due = list(
        RolloutWedge.objects.filter(wedge_state=State.ACTIVE)
        .filter(Q(due_at__lte=now) | (Q(window_ends_at__lte=now) & newer_evidence))
        .select_related("latest_snapshot", "policy_version")
        .prefetch_related(Prefetch("stages", queryset=WedgeStage.objects.order_by("position")))
    )
    report.examined = len(due)
    waiting: list[_Due] = []
    for wedge in due:
        # One wedge that cannot be decided or moved (a stored plan the engine
        # refuses, a failing write) must not hold up the others: its own
        # transaction rolls back, it is logged and counted, and the next tick
        # tries it again.
        try:
            action = _tick_one(wedge, now, waiting)
        except Exception:
            log.exception("The tick could not act on the wedge of proposal %s", wedge.proposal_id)
            report.failed.append(wedge.proposal_id)
            continue
        if action is not None:
            report.actions[action.value] = report.actions.get(action.value, 0) + 1
    _remember_due(waiting)
    return report


@dataclass(frozen=True)
class _Due:
    """When a wedge the tick left alone is next due, and what that was computed from."""

    wedge_id: int
    due_at: datetime | None
    snapshot_id: int
    stage_opened_at: datetime


def _tick_one(wedge: RolloutWedge, now: datetime, waiting: list[_Due]) -> Action | None:
    """Act on one due wedge if it must move; the action taken, or ``None``.

    A manual stage that has just become eligible is announced (WDG-106) once.
    A wedge left alone joins ``waiting`` with the moment it is next due
    (``_next_due``).
    """
    decision = movable(decide(wedge, now), wedge, now)
    if decision.action != Action.NONE or _unannounced_approval(wedge, decision):
        with transaction.atomic():
            locked = _locked(wedge.proposal_id).with_plan_of(wedge)
            decision = movable(decide(locked, now), locked, now)
            if _apply(locked, decision, now=now, actor=None):
                return decision.action
            _note_awaiting_approval(locked, decision, now)
            wedge = locked
    assert wedge.stage_opened_at is not None  # an ACTIVE wedge has an open stage
    waiting.append(
        _Due(
            wedge_id=wedge.pk,
            due_at=_next_due(wedge, now),
            snapshot_id=wedge.latest_snapshot_id or 0,
            stage_opened_at=wedge.stage_opened_at,
        )
    )
    return None


def _unannounced_approval(wedge: RolloutWedge, decision: Decision) -> bool:
    return decision.rule == codes.RULE_AWAITING_APPROVAL and wedge.awaiting_approval_since is None


def _remember_due(waiting: list[_Due]) -> None:
    """Store the next ``due_at`` of wedges the tick read but left alone, in one statement.

    Compare-and-set on what it was computed from: a wedge that moved (its
    stage reopened, or it left ACTIVE) or received a newer snapshot since the
    tick read it keeps what that change stored.
    """
    if not waiting:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {RolloutWedge._meta.db_table} AS w
                SET due_at = v.due_at, due_snapshot_id = v.snapshot_id
                FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::timestamptz[])
                    AS v(id, due_at, snapshot_id, stage_opened_at)
                WHERE w.id = v.id
                  AND w.wedge_state = %s
                  AND w.stage_opened_at = v.stage_opened_at
                  AND COALESCE(w.latest_snapshot_id, 0) = v.snapshot_id
                """,
                [
                    [due.wedge_id for due in waiting],
                    [due.due_at for due in waiting],
                    [due.snapshot_id for due in waiting],
                    [due.stage_opened_at for due in waiting],
                    State.ACTIVE,
                ],
            )
        return
    # The embedded SQLite default runs a handful of wedges: one statement each.
    for due in waiting:
        same_evidence = (
            Q(latest_snapshot__isnull=True)
            if due.snapshot_id == 0
            else Q(latest_snapshot_id=due.snapshot_id)
        )
        RolloutWedge.objects.filter(
            same_evidence,
            pk=due.wedge_id,
            wedge_state=State.ACTIVE,
            stage_opened_at=due.stage_opened_at,
        ).update(due_at=due.due_at, due_snapshot_id=due.snapshot_id)
