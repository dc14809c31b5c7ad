"""The rollout engine's decisions (SPEC "The rollout engine"), as pure functions.

``decide`` answers "what should happen to this wedge now?" and changes nothing;
the service layer applies the answer under a row lock. The facts every reader
of a wedge needs are answered here once, from a ``WedgeView``: the open stage's
id (``current_stage_id``), the exposure a stage holds (``exposure_for``,
``held_exposure``), when a window ends (``window_ends_at``) and when a stage may
advance next (``Decision.advance_at``). A stored wedge becomes a view in one
place, ``RolloutWedge.policy_view``.

Stages are numbered 0..n-1; index -1 is the implicit hold ``initial`` at
``initial_percentage``, used when that is below stage 1's target.

Decisions the spec leaves open:

* The implicit hold is gated by stage 1's success criteria and rollback trigger
  and also uses stage 1's ``duration_hours`` as its planned duration.
* The evidence is the latest value of each metric received during the current
  stage, whoever sent it: an agent pushing ``exposure_percentage`` and a metric
  provider polled for ``error_rate`` add to one another instead of the later
  snapshot hiding the earlier one (``merge_evidence``). A value counts for the
  stage it arrived in (``received_at >= stage_opened_at``), never for a later one.
* Rollback checks read every value received during the stage, however old: a
  breach seen at this exposure is evidence enough, and triggers are evaluated
  when a snapshot arrives, so staleness would only ever hide a real breach.
  Advancing, by contrast, needs each metric the success criteria name to be no
  older than ``freshness``; a newer value of an unrelated metric does not make
  an old one fresh.
* A value of ``None`` is a metric known to be missing now (a provider answered
  with no data): it replaces the earlier value, and like any unreadable value
  leaves a criterion unmet and a trigger not fired.
* Checks run in this order, first match wins: blast radius (the planned
  exposure of the current stage, then the snapshot's ``exposure_percentage``),
  the rollback trigger, then (ACTIVE only) advancement and the 3x pause.
* An operator approval advances any eligible stage, also before its planned
  ``duration_hours`` (never before the observation window or with unmet
  criteria); ``manual`` wedges advance only with one.
* If the next stage's target would exceed ``max_blast_radius`` (impossible for
  a validated wedge), the engine refuses to advance (``NONE`` with rule
  ``INV-RWG-BLAST``) rather than roll back: the current exposure is within bounds.
  A current exposure above it is a breach and rolls back.
* Durations too large for ``timedelta`` are treated as "never elapses" instead
  of raising.
* Each stage holds exactly its ``target_percentage``. A (waived) wedge whose
  ``initial_percentage`` is at or above stage 1's target starts at stage 1, so
  its first exposure is stage 1's target, never the larger initial value.
* A stage may advance on time (``advance_at``) once its observation window has
  ended and, for ``linear``/``exponential`` wedges, its planned duration too;
  a ``manual`` wedge's stage waits only for the window (then for an operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from . import codes
from .codes import WedgeState
from .explain import holding
from .expressions import parse
from .thresholds import FLOOR, Thresholds
from .units import parse_quantity

__all__ = [
    "Action",
    "CriterionResult",
    "Decision",
    "Snapshot",
    "StageView",
    "WedgeView",
    "current_stage_id",
    "decide",
    "due_at",
    "exposure_for",
    "gating_stage",
    "held_exposure",
    "initial_stage_index",
    "merge_evidence",
    "pause_at",
    "saturating_hours",
    "saturating_plus",
    "window_ends_at",
]

_RUNNING = frozenset({WedgeState.ACTIVE, WedgeState.PAUSED})


class Action(Enum):
    NONE = "none"
    ADVANCE = "advance"
    COMPLETE = "complete"
    PAUSE = "pause"
    ROLLBACK = "rollback"


_EVENT_CODES = {
    Action.ADVANCE: codes.EVENT_ADVANCED,
    Action.PAUSE: codes.EVENT_PAUSED,
    Action.ROLLBACK: codes.EVENT_ROLLED_BACK,
    Action.COMPLETE: codes.EVENT_COMPLETED,
}


@dataclass(frozen=True)
class StageView:
    """One stage as the engine sees it. Expressions are parsed on construction,
    so a view can only hold expressions the engine can evaluate."""

    stage_id: str
    target_percentage: float
    duration_hours: float
    success_criteria: tuple[str, ...]
    rollback_trigger: str

    def __post_init__(self) -> None:
        for expression in (*self.success_criteria, self.rollback_trigger):
            parse(expression)  # raises ExpressionError


@dataclass(frozen=True)
class WedgeView:
    """A wedge's state as of one moment; see the module docstring for ``stage_index``."""

    state: str
    stages: tuple[StageView, ...]
    stage_index: int
    stage_opened_at: datetime | None
    initial_percentage: float
    max_blast_radius: float
    observation_window_hours: float
    increment_policy: str
    # The policy version the wedge runs under (the one it was validated against).
    thresholds: Thresholds = FLOOR

    def __post_init__(self) -> None:
        if self.state not in codes.WEDGE_STATES:
            raise ValueError(f"unknown wedge state {self.state!r}")
        if not self.stages:
            raise ValueError("a wedge needs at least one stage")
        if not codes.INITIAL_STAGE_INDEX <= self.stage_index < len(self.stages):
            raise ValueError(f"stage_index {self.stage_index} is out of range")
        if self.state in _RUNNING and self.stage_opened_at is None:
            raise ValueError(f"a {self.state} wedge needs stage_opened_at")
        if self.increment_policy not in codes.INCREMENT_POLICIES:
            raise ValueError(f"unknown increment policy {self.increment_policy!r}")

    @property
    def observation_window(self) -> timedelta:
        return saturating_hours(self.observation_window_hours)


@dataclass(frozen=True)
class Snapshot:
    """Metric values reported for a wedge, and when the server accepted them.

    ``received`` says when each value arrived, for evidence merged from several
    snapshots; a metric it does not name arrived at ``received_at`` (the
    newest arrival), as in a single snapshot.
    """

    values: Mapping[str, object]
    received_at: datetime
    received: Mapping[str, datetime] = field(default_factory=dict)

    def arrived(self, metric: str) -> datetime:
        """When ``metric``'s value arrived."""
        return self.received.get(metric, self.received_at)

    def since(self, moment: datetime) -> Snapshot | None:
        """Only the values that arrived at ``moment`` or later; ``None`` if none did."""
        if all(self.arrived(metric) >= moment for metric in self.values):
            return self if self.values or self.received_at >= moment else None
        kept = {m: v for m, v in self.values.items() if self.arrived(m) >= moment}
        if not kept:
            return None
        times = {metric: self.arrived(metric) for metric in kept}
        return Snapshot(kept, max(times.values()), times)


def merge_evidence(
    previous: Snapshot | None,
    values: Mapping[str, object],
    received_at: datetime,
    *,
    since: datetime | None,
) -> Snapshot:
    """The evidence after ``values`` arrive: the latest value of each metric since ``since``.

    ``previous`` is the evidence so far (the latest snapshot's); what it holds
    from before ``since`` (the current stage's opening) is dropped, so the
    evidence never outlives its stage and stays as small as the metrics named.
    """
    kept = previous.since(since) if previous is not None and since is not None else previous
    merged: dict[str, object] = dict(kept.values) if kept is not None else {}
    times: dict[str, datetime] = (
        {metric: kept.arrived(metric) for metric in kept.values} if kept is not None else {}
    )
    for metric, value in values.items():
        merged[metric] = value
        times[metric] = received_at
    return Snapshot(merged, received_at, times)


@dataclass(frozen=True)
class CriterionResult:
    """One expression evaluated against a snapshot, for dashboards and the audit trail."""

    expression: str
    met: bool
    values: tuple[tuple[str, object], ...] = ()  # (metric, raw snapshot value) it read

    def values_dict(self) -> dict[str, object]:
        return dict(self.values)


@dataclass(frozen=True)
class Decision:
    """What should happen now, why, and where the wedge would go.

    ``target_index``/``target_percentage`` are the stage and exposure after the
    action: the next stage for ADVANCE, the current one for NONE and PAUSE,
    ``None``/final exposure for COMPLETE and ``None``/0 for ROLLBACK.
    ``eligible_at`` is when the observation window ends; ``advance_at`` when
    the stage may advance at the earliest (see the module docstring), for
    ACTIVE wedges only. Both are ``None`` for "never" (past the calendar).
    """

    action: Action
    reason: str
    rule: str
    target_index: int | None
    target_percentage: float | None
    eligible: bool = False
    eligible_at: datetime | None = None
    advance_at: datetime | None = None
    criteria: tuple[CriterionResult, ...] = ()
    trigger: CriterionResult | None = None
    # For an automatic PAUSE: the rule of what kept the stage from becoming
    # eligible (``no_snapshot``, ``criteria_unmet``, ...), so the pause can be
    # explained from data rather than from ``reason``.
    blocked_by: str | None = None

    @property
    def event_code(self) -> str | None:
        """The policy's audit event code (RWG-001...004), ``None`` for ``NONE``."""
        return _EVENT_CODES.get(self.action)


# --- Stage helpers ----------------------------------------------------------------------------


def initial_stage_index(view: WedgeView) -> int:
    """Where ``start`` opens: the implicit hold (-1) if the initial exposure is below stage 1's."""
    if view.initial_percentage < view.stages[0].target_percentage:
        return codes.INITIAL_STAGE_INDEX
    return 0


def exposure_for(view: WedgeView, index: int) -> float:
    """The exposure stage ``index`` holds (``initial_percentage`` for the implicit hold)."""
    if index == codes.INITIAL_STAGE_INDEX:
        return view.initial_percentage
    return view.stages[index].target_percentage


def held_exposure(view: WedgeView, index: int) -> float:
    """The exposure a wedge at stage ``index`` is set to: never above ``max_blast_radius``.

    A stage planned above it (impossible for a validated wedge) is held at the
    radius, and ``decide`` rolls it back at once (INV-RWG-BLAST).
    """
    return min(exposure_for(view, index), view.max_blast_radius)


def gating_stage(view: WedgeView) -> StageView:
    """The stage whose criteria, trigger and duration govern the current index."""
    return view.stages[max(view.stage_index, 0)]


def current_stage_id(view: WedgeView) -> str:
    """The open stage's id (``initial`` for the implicit hold)."""
    if view.stage_index == codes.INITIAL_STAGE_INDEX:
        return codes.INITIAL_STAGE_ID
    return view.stages[view.stage_index].stage_id


def window_ends_at(opened_at: datetime, observation_window_hours: float) -> datetime | None:
    """When an observation window opened at ``opened_at`` ends; ``None`` for never."""
    return saturating_plus(opened_at, saturating_hours(observation_window_hours))


def pause_at(
    opened_at: datetime,
    observation_window_hours: float,
    multiple: int = codes.PAUSE_AFTER_WINDOWS,
) -> datetime | None:
    """When a stage opened at ``opened_at`` pauses if it has not become eligible (RWG-002).

    ``multiple`` observation windows after it opened; ``None`` for never. The
    one place the pause moment is computed: ``decide`` asks it, and the wedge
    stores it when a stage opens.
    """
    window = saturating_hours(observation_window_hours)
    return saturating_plus(opened_at, _times(window, multiple))


def _advance_at(view: WedgeView) -> datetime | None:
    """The earliest moment the open stage of an ACTIVE view may advance (``None``: never)."""
    opened = _opened_at(view)
    window_end = window_ends_at(opened, view.observation_window_hours)
    if view.increment_policy not in codes.AUTOMATIC_POLICIES:
        return window_end
    duration_end = saturating_plus(opened, saturating_hours(gating_stage(view).duration_hours))
    if window_end is None or duration_end is None:
        return None
    return max(window_end, duration_end)


# --- The decision -----------------------------------------------------------------------------


def decide(
    view: WedgeView,
    snapshot: Snapshot | None,
    now: datetime,
    *,
    freshness: timedelta,
    operator_approval: bool = False,
) -> Decision:
    """The policy's answer for ``view`` at ``now`` given its latest snapshot.

    ``snapshot`` is the wedge's latest evidence (or ``None``): a single
    snapshot, or values merged from several (``merge_evidence``). ``freshness``
    bounds, for advancing, the age of each value the success criteria read.
    See the module docstring for the order of checks.
    """
    if freshness < timedelta(0):
        raise ValueError("freshness must not be negative")
    if view.state not in _RUNNING:
        return _stay(
            view,
            codes.RULE_NOT_RUNNING,
            f"the wedge is {view.state}; only ACTIVE and PAUSED wedges are driven",
        )
    opened = _opened_at(view)
    in_stage = snapshot.since(opened) if snapshot is not None else None
    gate = gating_stage(view)
    evidence = _Evidence(
        criteria=tuple(_evaluate(text, in_stage) for text in gate.success_criteria),
        trigger=_evaluate(gate.rollback_trigger, in_stage),
        eligible_at=window_ends_at(opened, view.observation_window_hours),
        advance_at=_advance_at(view) if view.state == WedgeState.ACTIVE else None,
    )
    breach = _rollback_reason(view, in_stage, evidence)
    if breach is not None:
        return _decision(view, Action.ROLLBACK, *breach, evidence=evidence)
    if view.state == WedgeState.PAUSED:
        return _stay(
            view,
            codes.RULE_PAUSED,
            "the wedge is paused; it neither advances nor pauses until resumed",
            evidence,
        )
    blocker = _eligibility_blocker(view, snapshot, in_stage, now, freshness, evidence)
    if blocker is None:
        return _advance(view, now, evidence, operator_approval)
    multiple = view.thresholds.pause_after_windows
    pause = pause_at(opened, view.observation_window_hours, multiple)
    if pause is not None and now >= pause:
        return _decision(
            view,
            Action.PAUSE,
            codes.RULE_PAUSE_3X,
            f"stage {current_stage_id(view)!r} has been open {multiple} x the "
            f"observation window without becoming eligible ({blocker[1]})",
            evidence=evidence,
            blocked_by=blocker[0],
        )
    return _stay(view, *blocker, evidence)


def due_at(
    view: WedgeView,
    snapshot: Snapshot | None,
    now: datetime,
    *,
    freshness: timedelta,
) -> datetime | None:
    """The first moment at or after ``now`` at which ``decide`` acts on ``view`` with no new
    evidence: ``now`` when it acts already, ``None`` when time alone never moves it.

    Only an ACTIVE wedge moves on time, so the beat tick reads a wedge only once
    this moment has passed, or when newer evidence than it was computed from has
    arrived. With ``snapshot`` fixed, ``decide`` can change its answer only when
    time crosses one of a few moments, so the answer is exact:

    * advancing on time (``linear``/``exponential``): at ``advance_at``, if the
      in-stage snapshot meets every criterion and is still fresh then (and the
      next stage fits the blast radius);
    * pausing (RWG-002): at ``pause_at``, or, for a stage that is eligible
      then (a manual stage awaiting approval), the moment its evidence goes
      stale (``freshness`` after it was received), whichever is later.

    Triggers and the blast radius do not depend on time: if they fire, they
    fire now.
    """
    if view.state != WedgeState.ACTIVE:
        return None
    decision = decide(view, snapshot, now, freshness=freshness)
    if decision.action != Action.NONE:
        return now
    opened = _opened_at(view)
    in_stage = snapshot.since(opened) if snapshot is not None else None
    met = in_stage is not None and all(result.met for result in decision.criteria)
    # The last moment the evidence is fresh (``decide``: stale once the oldest
    # value the criteria read is older than ``freshness``); ``None``: never.
    fresh_until = _fresh_until(view, in_stage, freshness)
    moments: list[datetime] = []
    if met and view.increment_policy in codes.AUTOMATIC_POLICIES and _next_stage_fits(view):
        advance = decision.advance_at
        if advance is not None:
            advance = max(advance, now)
            if fresh_until is None or advance <= fresh_until:
                moments.append(advance)
    pause = pause_at(opened, view.observation_window_hours, view.thresholds.pause_after_windows)
    if pause is not None:
        if not met:
            moments.append(max(pause, now))
        elif fresh_until is not None:
            stale = saturating_plus(fresh_until, _MICROSECOND)
            if stale is not None:
                moments.append(max(pause, stale, now))
    return min(moments, default=None)


_MICROSECOND = timedelta(microseconds=1)


def _criteria_metrics(view: WedgeView) -> list[str]:
    """The metrics the open stage's success criteria read, sorted."""
    return sorted(
        frozenset[str]().union(
            *(parse(text).metrics() for text in gating_stage(view).success_criteria)
        )
    )


def _fresh_until(
    view: WedgeView, in_stage: Snapshot | None, freshness: timedelta
) -> datetime | None:
    """The last moment every value the criteria read is fresh; ``None`` if none is held
    (or the moment lies past the calendar)."""
    if in_stage is None:
        return None
    arrivals = [
        in_stage.arrived(metric) for metric in _criteria_metrics(view) if metric in in_stage.values
    ]
    return saturating_plus(min(arrivals), freshness) if arrivals else None


def _next_stage_fits(view: WedgeView) -> bool:
    """Whether advancing from the open stage stays within the blast radius (see ``_advance``)."""
    next_index = view.stage_index + 1
    return next_index == len(view.stages) or (
        exposure_for(view, next_index) <= view.max_blast_radius
    )


@dataclass(frozen=True)
class _Evidence:
    criteria: tuple[CriterionResult, ...]
    trigger: CriterionResult
    eligible_at: datetime | None
    advance_at: datetime | None


def _rollback_reason(
    view: WedgeView, in_stage: Snapshot | None, evidence: _Evidence
) -> tuple[str, str] | None:
    """``(rule, reason)`` when the wedge must roll back now, else ``None``."""
    planned = exposure_for(view, view.stage_index)
    if planned > view.max_blast_radius:
        return codes.RULE_BLAST, (
            f"stage {current_stage_id(view)!r} holds {planned:g} %, above max_blast_radius "
            f"{view.max_blast_radius:g} %"
        )
    reported = _reported_exposure(in_stage)
    if reported is not None and reported > view.max_blast_radius:
        return codes.RULE_BLAST, (
            f"reported {codes.EXPOSURE_METRIC} {reported:g} % exceeds max_blast_radius "
            f"{view.max_blast_radius:g} %"
        )
    if evidence.trigger.met:
        fired = holding(evidence.trigger.expression, evidence.trigger.values_dict())
        return codes.RULE_ROLLBACK, (
            f"rollback trigger {evidence.trigger.expression!r} fired: "
            f"{', '.join(str(term) for term in fired)}"
        )
    return None


def _eligibility_blocker(
    view: WedgeView,
    snapshot: Snapshot | None,
    in_stage: Snapshot | None,
    now: datetime,
    freshness: timedelta,
    evidence: _Evidence,
) -> tuple[str, str] | None:
    """``(rule, reason)`` for the first thing keeping an ACTIVE stage from advancing."""
    opened = _opened_at(view)
    if now - opened < view.observation_window:
        return codes.RULE_OBSERVE, (
            f"the observation window of {view.observation_window_hours:g} h runs until "
            f"{_moment(evidence.eligible_at) if evidence.eligible_at else 'never'}"
        )
    if snapshot is None:
        return codes.RULE_NO_SNAPSHOT, "no metric snapshot has been received"
    if in_stage is None:
        return codes.RULE_SNAPSHOT_BEFORE_STAGE, (
            f"the latest snapshot ({_moment(snapshot.received_at)}) predates the stage "
            f"({_moment(opened)})"
        )
    stale = [
        metric
        for metric in _criteria_metrics(view)
        if metric in in_stage.values and now - in_stage.arrived(metric) > freshness
    ]
    if stale:
        oldest = min(in_stage.arrived(metric) for metric in stale)
        return codes.RULE_STALE_SNAPSHOT, (
            f"the latest {', '.join(stale)} ({_moment(oldest)}) is older than "
            f"{freshness.total_seconds():g} s"
        )
    unmet = [result.expression for result in evidence.criteria if not result.met]
    if unmet:
        return codes.RULE_CRITERIA_UNMET, f"success criteria not met: {', '.join(unmet)}"
    return None


def _advance(view: WedgeView, now: datetime, evidence: _Evidence, approved: bool) -> Decision:
    """The decision for an eligible ACTIVE stage."""
    gate = gating_stage(view)
    here = current_stage_id(view)
    if not approved:
        if view.increment_policy not in codes.AUTOMATIC_POLICIES:
            return _stay(
                view,
                codes.RULE_AWAITING_APPROVAL,
                f"stage {here!r} is eligible; a manual wedge advances on operator approval",
                evidence,
                eligible=True,
            )
        if now - _opened_at(view) < saturating_hours(gate.duration_hours):
            return _stay(
                view,
                codes.RULE_DURATION_PENDING,
                f"stage {here!r} is eligible but its planned {gate.duration_hours}h have not "
                f"passed",
                evidence,
                eligible=True,
            )
    next_index = view.stage_index + 1
    if next_index == len(view.stages):
        return _decision(
            view,
            Action.COMPLETE,
            codes.RULE_STAGED,
            f"last stage {here!r} passed; the rollout is complete",
            evidence=evidence,
            eligible=True,
        )
    target = exposure_for(view, next_index)
    if target > view.max_blast_radius:
        return _stay(
            view,
            codes.RULE_BLAST,
            f"stage {view.stages[next_index].stage_id!r} would expose {target:g} %, above "
            f"max_blast_radius {view.max_blast_radius:g} %; not advancing",
            evidence,
            eligible=True,
        )
    return _decision(
        view,
        Action.ADVANCE,
        codes.RULE_STAGED,
        f"stage {here!r} observed and all success criteria met; advancing to "
        f"{view.stages[next_index].stage_id!r} at {target:g} %",
        evidence=evidence,
        eligible=True,
    )


def _decision(
    view: WedgeView,
    action: Action,
    rule: str,
    reason: str,
    *,
    evidence: _Evidence | None = None,
    eligible: bool = False,
    blocked_by: str | None = None,
) -> Decision:
    target_index: int | None
    if action == Action.ADVANCE:
        target_index = view.stage_index + 1
        target = exposure_for(view, target_index)
    elif action == Action.ROLLBACK:
        target_index, target = None, 0.0
    elif action == Action.COMPLETE:
        target_index, target = None, exposure_for(view, view.stage_index)
    else:
        target_index, target = view.stage_index, exposure_for(view, view.stage_index)
    return Decision(
        action=action,
        reason=reason,
        rule=rule,
        target_index=target_index,
        target_percentage=target,
        eligible=eligible,
        eligible_at=evidence.eligible_at if evidence else None,
        advance_at=evidence.advance_at if evidence else None,
        criteria=evidence.criteria if evidence else (),
        trigger=evidence.trigger if evidence else None,
        blocked_by=blocked_by,
    )


def _stay(
    view: WedgeView,
    rule: str,
    reason: str,
    evidence: _Evidence | None = None,
    *,
    eligible: bool = False,
) -> Decision:
    return _decision(view, Action.NONE, rule, reason, evidence=evidence, eligible=eligible)


def _evaluate(expression: str, snapshot: Snapshot | None) -> CriterionResult:
    if snapshot is None:
        return CriterionResult(expression, False)
    parsed = parse(expression)
    # A metric known to be missing (``None``) read nothing, as an absent one.
    used = tuple(
        (metric, snapshot.values[metric])
        for metric in sorted(parsed.metrics())
        if snapshot.values.get(metric) is not None
    )
    return CriterionResult(expression, parsed.evaluate(snapshot.values), used)


def _reported_exposure(snapshot: Snapshot | None) -> float | None:
    """The snapshot's ``exposure_percentage`` as a percentage, if it has a readable one."""
    if snapshot is None:
        return None
    quantity = parse_quantity(snapshot.values.get(codes.EXPOSURE_METRIC))
    if quantity is None or quantity.unit not in (None, "%"):
        return None
    return quantity.value


# --- Small helpers ----------------------------------------------------------------------------


def _moment(moment: datetime) -> str:
    """A moment in a reason: UTC to the second, "2026-12-02 15:09:15 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _opened_at(view: WedgeView) -> datetime:
    assert view.stage_opened_at is not None  # WedgeView guarantees it for running wedges
    return view.stage_opened_at


def saturating_hours(hours: float) -> timedelta:
    """``timedelta(hours=...)``, saturating at ``timedelta.max`` (never elapses)."""
    try:
        return timedelta(hours=hours)
    except (OverflowError, ValueError):  # ValueError: NaN
        return timedelta.max


def _times(duration: timedelta, factor: int) -> timedelta:
    try:
        return duration * factor
    except OverflowError:
        return timedelta.max


def saturating_plus(moment: datetime, duration: timedelta) -> datetime | None:
    """``moment + duration``, or ``None`` (never) when that lies past the calendar's end."""
    try:
        return moment + duration
    except OverflowError:
        return None
