"""Demo rollouts for `make run`: real proposals driven through the real services,
with their history back-dated so the dashboard and charts have something to show."""

from __future__ import annotations

import copy
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from org.models import User
from wedges.models import ChangeProposal, State, ToldVia
from wedges.policy.codes import EXPOSURE_METRIC
from wedges.policy.engine import StageView
from wedges.policy.explain import comparisons
from wedges.policy.expressions import Comparison, Expr, parse
from wedges.services import (
    proposal_submit,
    wedge_record_snapshot,
    wedge_rollback,
    wedge_start,
    wedges_tick,
)
from wedges.services.timing import rollback_told
from wedges.submission import check_submission

DEMO_REFERENCE = "demo:"
SUBMITTED_BEFORE_START = timedelta(minutes=20)


def _stage(stage_id: str, target: float, criteria: list[str], trigger: str) -> dict[str, Any]:
    return {
        "stage_id": stage_id,
        "target_percentage": target,
        "duration_hours": 1,
        "success_criteria": criteria,
        "rollback_trigger": trigger,
    }


HEALTH = ["error_rate < 0.01", "p99 <= 250ms"]
TRIGGER = "error_rate > 0.05 or p99 > 800ms"

DEMOS: list[dict[str, Any]] = [
    {
        "key": "pooling",
        "body": {
            "title": "Connection pooling for connector runtime 2.4",
            "description": "Reuses upstream connections; halves handshake latency.",
            "change_type": "connector_deployment",
            "subsystem": "connector-runtime",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 5, HEALTH, TRIGGER),
                    _stage("early", 25, HEALTH, TRIGGER),
                    _stage("half", 50, HEALTH, TRIGGER),
                    _stage("most", 75, HEALTH, TRIGGER),
                    _stage("all", 100, HEALTH, TRIGGER),
                ],
                "initial_percentage": 2,
                "increment_policy": "linear",
                "max_blast_radius": 100,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 3.2,
        "plan": "progress",
    },
    {
        "key": "scheduler",
        "body": {
            "title": "Control-plane scheduler rewrite",
            "description": "New leader election and work-stealing scheduler.",
            "change_type": "control_plane",
            "subsystem": "control-plane",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 10, [*HEALTH, "availability >= 99.9%"], TRIGGER),
                    _stage("half", 50, [*HEALTH, "availability >= 99.9%"], TRIGGER),
                    _stage("all", 90, [*HEALTH, "availability >= 99.9%"], TRIGGER),
                ],
                "initial_percentage": 5,
                "increment_policy": "manual",
                "max_blast_radius": 90,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 1.3,
        "plan": "progress",
    },
    {
        "key": "policy",
        "body": {
            "title": "Policy engine: stricter egress rules",
            "description": "Rolled back: p99 breached the trigger in the early stage.",
            "change_type": "policy_update",
            "subsystem": "connector-runtime",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 10, HEALTH, TRIGGER),
                    _stage("early", 40, HEALTH, TRIGGER),
                    _stage("all", 70, HEALTH, TRIGGER),
                ],
                "initial_percentage": 10,
                "increment_policy": "linear",
                "max_blast_radius": 70,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 5,
        "plan": "breach",
    },
    {
        "key": "keys",
        "body": {
            "title": "Rotate connector signing keys",
            "description": "Waiting for an operator to start it.",
            "change_type": "security_patch",
            "subsystem": "connector-runtime",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 10, HEALTH, TRIGGER),
                    _stage("all", 100, HEALTH, TRIGGER),
                ],
                "initial_percentage": 10,
                "increment_policy": "exponential",
                "max_blast_radius": 100,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 0.5,
        "plan": "pending",
    },
    {
        "key": "flags",
        "body": {
            "title": "Feature-flag client 1.8",
            "description": "Caches flag rules locally; went out stage by stage this morning.",
            "change_type": "connector_deployment",
            "subsystem": "connector-runtime",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 25, HEALTH, TRIGGER),
                    _stage("all", 100, HEALTH, TRIGGER),
                ],
                "initial_percentage": 10,
                "increment_policy": "linear",
                "max_blast_radius": 100,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 4,
        "plan": "progress",
    },
    {
        "key": "quota",
        "body": {
            "title": "Quota enforcement in the control plane",
            "description": "Error rate stayed above the criterion, so Wedge paused it.\n"
            "demo-agent: unhealthy",
            "change_type": "control_plane",
            "subsystem": "control-plane",
            "rollout_wedge": {
                "wedge_stages": [
                    _stage("canary", 10, HEALTH, TRIGGER),
                    _stage("all", 60, HEALTH, TRIGGER),
                ],
                "initial_percentage": 5,
                "increment_policy": "linear",
                "max_blast_radius": 60,
                "observation_window_hours": 1.0,
            },
        },
        "hours_ago": 3.5,
        "plan": "stall",
    },
]


def healthy_metrics(rng: random.Random, moment: datetime, exposure: float) -> dict[str, Any]:
    """Plausible healthy numbers with a little daily wave and noise."""
    wave = math.sin(moment.timestamp() / 900)
    return {
        "error_rate": round(max(0.0, 0.002 + 0.001 * wave + rng.gauss(0, 0.0005)), 5),
        "p99": f"{round(160 + 25 * wave + rng.gauss(0, 8))}ms",
        "availability": f"{round(99.97 + rng.gauss(0, 0.01), 3)}%",
        "exposure_percentage": exposure,
    }


def _drive(
    proposal: ChangeProposal, plan: str, start: datetime, now: datetime, users: dict[str, User]
) -> None:
    rng = random.Random(proposal.pk)
    wedge_start(proposal_id=proposal.pk, actor=users["dave"], reason="Demo rollout", now=start)
    moment = start
    while moment < now:
        moment += timedelta(minutes=10)
        if moment >= now:
            break
        exposure = proposal.rollout_wedge.exposure_percentage
        metrics = healthy_metrics(rng, moment, exposure)
        if plan == "breach" and moment >= start + timedelta(hours=1, minutes=40):
            metrics["p99"] = "1200ms"
        if plan == "stall":
            metrics["error_rate"] = round(0.02 + rng.uniform(0, 0.005), 4)  # unmet, not breaching
        outcome = wedge_record_snapshot(
            proposal_id=proposal.pk, metrics=metrics, actor=users["pipeline"], now=moment
        )
        proposal.rollout_wedge = outcome.wedge
        if outcome.wedge.wedge_state not in (State.ACTIVE, State.PAUSED):
            break
        wedges_tick(now=moment)
    if plan == "breach" and proposal.rollout_wedge.wedge_state == State.ACTIVE:
        wedge_rollback(proposal_id=proposal.pk, actor=users["dave"], reason="Demo", now=now)
        moment = now
    if plan == "breach":
        deployer_reads_rollback(proposal.rollout_wedge.pk, moment, rng, not_after=now)


def deployer_reads_rollback(
    wedge_id: int,
    rolled_back_at: datetime,
    rng: random.Random,
    *,
    not_after: datetime | None = None,
) -> None:
    """The demo deployer learns of a rollback on its next read of the desired state,
    2 to 15 s after it (the rollback SLO as measured), and not after ``not_after``."""
    told = rolled_back_at + timedelta(seconds=rng.uniform(2.0, 15.0))
    if not_after is not None:
        told = min(told, not_after)
    rollback_told(wedge_id=wedge_id, via=ToldVia.DESIRED_STATE, now=told)


@transaction.atomic
def seed_demo_rollouts(now: datetime | None = None) -> list[str]:
    """Create the demo rollouts once; returns the titles it created."""
    now = now or timezone.now()
    if ChangeProposal.objects.filter(external_reference__startswith=DEMO_REFERENCE).exists():
        return []
    users = {u.username: u for u in User.objects.filter(username__in=["alice", "dave", "pipeline"])}
    created = []
    for demo in DEMOS:
        body = copy.deepcopy(demo["body"])
        body["external_reference"] = f"{DEMO_REFERENCE}{demo['key']}"
        check = check_submission(body)
        assert check.valid, check.to_dict()
        start = now - timedelta(hours=demo["hours_ago"])
        # Submitted a little before it started, at that moment: the services'
        # own clocks (the proposal's created_at, its WDG-101 event) agree with
        # the back-dated start, so no event precedes the submission.
        with time_machine.travel(start - SUBMITTED_BEFORE_START, tick=False):
            proposal = proposal_submit(check=check, author=users["alice"]).proposal
        if demo["plan"] != "pending":
            _drive(proposal, demo["plan"], start, now, users)
        created.append(proposal.title)
    return created


# --- What the demo agent reports for any running rollout ----------------------------------


class Behaviour(StrEnum):
    """How the demo agent's pretend deployment behaves for a proposal."""

    HEALTHY = "healthy"  # every success criterion met, the trigger quiet
    UNHEALTHY = "unhealthy"  # a criterion unmet, the trigger quiet: the stage stalls, then pauses
    BREACH = "breach"  # the rollback trigger fires: Wedge rolls back at once
    SILENT = "silent"  # nothing reported: "no data yet", then a pause


# A line of the proposal's description tells the demo agent what to do:
# "demo-agent: breach", or only from one stage on: "demo-agent: breach at half".
DIRECTIVE = re.compile(
    r"^\s*demo-agent:\s*(?P<behaviour>healthy|unhealthy|breach|silent)"
    r"(?:\s+at\s+(?P<stage>\S+))?\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def behaviour_for(description: str, stage_ids: list[str], current: str) -> Behaviour:
    """The behaviour a description asks for at the ``current`` stage (healthy by default).

    A directive naming a stage applies from that stage on (``stage_ids`` is the
    ladder in order, ``initial`` first when the wedge has the implicit hold).
    """
    match = DIRECTIVE.search(description or "")
    if match is None:
        return Behaviour.HEALTHY
    wanted = Behaviour(match["behaviour"].lower())
    stage = match["stage"]
    if stage is None:
        return wanted
    if stage not in stage_ids or current not in stage_ids:
        return Behaviour.HEALTHY
    return wanted if stage_ids.index(current) >= stage_ids.index(stage) else Behaviour.HEALTHY


@dataclass
class _Bounds:
    """Where a metric's value may lie, in one unit."""

    unit: str | None
    low: float = -math.inf
    high: float = math.inf

    def keep_below(self, value: float) -> None:
        self.high = min(self.high, value)

    def keep_above(self, value: float) -> None:
        self.low = max(self.low, value)

    def pick(self, rng: random.Random) -> float:
        low = self.low
        high = min(self.high, 100.0) if self.unit == "%" else self.high
        share = rng.uniform(0.3, 0.5)
        if math.isfinite(low) and math.isfinite(high):
            return low + (high - low) * share if high > low else low
        if math.isfinite(high):
            return high * share if high > 0 else high - 1
        if math.isfinite(low):
            return low * (1 + share) + share if low >= 0 else low + 1
        return rng.uniform(1, 10)


def _keep_clear(bounds: _Bounds, comparison: Comparison, value: float) -> None:
    """Narrow ``bounds`` so that ``comparison`` (of a trigger) does not hold."""
    if comparison.op in (">", ">="):
        bounds.keep_below(value)
    elif comparison.op in ("<", "<="):
        bounds.keep_above(value)


def _keep_true(bounds: _Bounds, comparison: Comparison, value: float) -> None:
    """Narrow ``bounds`` so that ``comparison`` (of a criterion) holds."""
    if comparison.op in ("<", "<="):
        bounds.keep_below(value)
    elif comparison.op in (">", ">="):
        bounds.keep_above(value)
    elif comparison.op == "==":
        bounds.low = bounds.high = value


def _shown(value: float, unit: str | None) -> object:
    rounded = float(f"{value:.4g}")
    return f"{rounded:g}{unit}" if unit else rounded


def _past(comparison: Comparison) -> float:
    """A value of the comparison's metric, in its unit, for which it clearly holds."""
    threshold = comparison.threshold.value
    if comparison.op in (">", ">="):
        return threshold * 2 if threshold > 0 else threshold + 1
    return threshold / 2 if threshold > 0 else threshold - 1


def metrics_for(
    stage: StageView, behaviour: Behaviour, rng: random.Random, exposure: float
) -> dict[str, Any] | None:
    """Values for every metric the stage names that make it behave as asked.

    Healthy values lie inside every success criterion and clear of every
    comparison of the trigger; a breach sets one metric past its trigger; an
    unhealthy stage misses a criterion but stays clear of the trigger. Each
    set is checked against the stage's own expressions before it is returned
    (``None`` when no such set was found, or for a silent deployment).
    """
    if behaviour == Behaviour.SILENT:
        return None
    criteria = [parse(text) for text in stage.success_criteria]
    trigger = parse(stage.rollback_trigger)
    bounds: dict[str, _Bounds] = {}
    clear: dict[str, _Bounds] = {}  # the trigger's bounds alone

    def bound(comparison: Comparison, table: dict[str, _Bounds]) -> tuple[_Bounds, float] | None:
        unit = bounds[comparison.metric].unit if comparison.metric in bounds else None
        slot = table.setdefault(comparison.metric, _Bounds(unit or comparison.threshold.unit))
        value = comparison.threshold.to(slot.unit)
        return None if value is None else (slot, value)

    for expression in criteria:
        for comparison in comparisons(expression):
            if (found := bound(comparison, bounds)) is not None:
                _keep_true(found[0], comparison, found[1])
    for comparison in comparisons(trigger):
        for table in (bounds, clear):
            if (found := bound(comparison, table)) is not None:
                _keep_clear(found[0], comparison, found[1])
    values: dict[str, Any] = {
        name: _shown(slot.pick(rng), slot.unit) for name, slot in bounds.items()
    }
    values[EXPOSURE_METRIC] = exposure
    if behaviour == Behaviour.BREACH:
        fired = next(iter(comparisons(trigger)))
        values[fired.metric] = _shown(_past(fired), fired.threshold.unit)
        return values if trigger.evaluate(values) else None
    if behaviour == Behaviour.UNHEALTHY:
        return _missing_a_criterion(values, criteria, trigger, bounds, clear)
    healthy = all(expression.evaluate(values) for expression in criteria)
    return values if healthy and not trigger.evaluate(values) else None


def _missing_a_criterion(
    values: dict[str, Any],
    criteria: list[Expr],
    trigger: Expr,
    bounds: dict[str, _Bounds],
    clear: dict[str, _Bounds],
) -> dict[str, Any] | None:
    """``values`` with one criterion missed, halfway between it and the trigger."""
    for comparison in (c for expression in criteria for c in comparisons(expression)):
        unit = bounds[comparison.metric].unit
        edge = comparison.threshold.to(unit)
        if edge is None or comparison.op not in ("<", "<=", ">", ">="):
            continue
        safe = clear.get(comparison.metric, _Bounds(unit))
        limit = safe.high if comparison.op in ("<", "<=") else safe.low
        if math.isfinite(limit):
            miss = (edge + limit) / 2
        elif comparison.op in ("<", "<="):
            miss = edge * 1.5 + 1 if edge >= 0 else edge + 1
        else:
            miss = edge / 2 - 1 if edge > 0 else edge - 1
        trial = {**values, comparison.metric: _shown(miss, unit)}
        if not comparison.evaluate(trial) and not trigger.evaluate(trial):
            return trial
    return None
