"""Demo rollouts for `make run`: real proposals driven through the real services,
with their history back-dated so the dashboard and charts have something to show."""

from __future__ import annotations

import copy
import math
import random
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from org.models import User
from wedges.models import ChangeProposal, State
from wedges.services import (
    proposal_submit,
    wedge_record_snapshot,
    wedge_rollback,
    wedge_start,
    wedges_tick,
)
from wedges.submission import check_submission

DEMO_REFERENCE = "demo:"


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
        outcome = wedge_record_snapshot(
            proposal_id=proposal.pk, metrics=metrics, actor=users["pipeline"], now=moment
        )
        proposal.rollout_wedge = outcome.wedge
        if outcome.wedge.wedge_state not in (State.ACTIVE, State.PAUSED):
            break
        wedges_tick(now=moment)
    if plan == "breach" and proposal.rollout_wedge.wedge_state == State.ACTIVE:
        wedge_rollback(proposal_id=proposal.pk, actor=users["dave"], reason="Demo", now=now)


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
        proposal = proposal_submit(check=check, author=users["alice"]).proposal
        start = now - timedelta(hours=demo["hours_ago"])
        if demo["plan"] != "pending":
            _drive(proposal, demo["plan"], start, now, users)
        created.append(proposal.title)
    return created
