"""A year of history for the demo (`seed_demo`): the last four quarters, told as a story.

Every step goes through the real services at its own past moment
(time-machine moves the clock, so the services' own timestamps, the audit
trail and the stored times all agree): proposals submitted, then started a
little later; most rollouts go out stage by stage, some roll back on a
breaching metric, one stalls and is paused; incidents are recorded against
rollouts (some contained by the wedge, one that escaped after completion);
a single-stage change goes out under a waiver and causes an incident; and a
change freeze held the connector runtime for a few days last quarter. The
governance report of each quarter, and the trend across them, then has
believable figures. Nothing of it is running now, so the live demo
(``wedges.demo``) is left to move.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import time_machine
from django.db import transaction
from django.utils import timezone

from freezes.services import freeze_declare
from governance.report import Quarter
from governance.services import incident_record
from org.models import User
from waivers.demo import HOTFIX
from waivers.services import waiver_approve, waiver_request
from wedges.demo import deployer_reads_rollback, healthy_metrics
from wedges.models import ChangeProposal, State
from wedges.services import (
    proposal_submit,
    wedge_approve_advance,
    wedge_record_snapshot,
    wedge_rollback,
    wedge_start,
)
from wedges.submission import check_submission

HISTORY_REFERENCE: Final = "history:"
STEP: Final = timedelta(minutes=30)  # how often the pretend deployer reports
HEALTH = ["error_rate < 0.01", "p99 <= 250ms"]
TRIGGER = "error_rate > 0.05 or p99 > 800ms"


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def _stage(stage_id: str, target: float) -> dict[str, Any]:
    return {
        "stage_id": stage_id,
        "target_percentage": target,
        "duration_hours": 1,
        "success_criteria": HEALTH,
        "rollback_trigger": TRIGGER,
    }


def _body(title: str, subsystem: str, change_type: str, key: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "From the demo's history.",
        "change_type": change_type,
        "subsystem": subsystem,
        "external_reference": f"{HISTORY_REFERENCE}{key}",
        "rollout_wedge": {
            "wedge_stages": [_stage("canary", 10), _stage("half", 50), _stage("all", 90)],
            "initial_percentage": 5,  # within the critical subsystem's cap of 10 %
            "increment_policy": "linear",
            "max_blast_radius": 90,
            "observation_window_hours": 1.0,
        },
    }


def _waived_body(title: str, key: str) -> dict[str, Any]:
    """One stage straight to 100 %: breaks the waivable rules, needs a waiver to start."""
    return {
        "title": title,
        "description": "From the demo's history: shipped in one step under a waiver.",
        "change_type": "security_patch",
        "subsystem": "connector-runtime",
        "external_reference": f"{HISTORY_REFERENCE}{key}",
        # The demo hotfix's wedge (waivers.demo): the same shape, for the same reason.
        "rollout_wedge": copy.deepcopy(HOTFIX["rollout_wedge"]),
    }


@dataclass(frozen=True)
class Story:
    """One rollout of the history: where in its quarter, what happens to it."""

    title: str
    subsystem: str
    change_type: str
    share: float  # how far into the quarter (of the part already past), 0 to 1
    plan: str  # complete, breach, stall, escaped, waived
    incident: tuple[str, float, str] | None = None  # severity, affected %, summary


# Oldest quarter first; each list is one quarter.
QUARTERS: Final[tuple[tuple[Story, ...], ...]] = (
    (
        Story(
            "Connector runtime 2.1", "connector-runtime", "connector_deployment", 0.1, "complete"
        ),
        Story(
            "Retry budget for webhooks",
            "connector-runtime",
            "connector_deployment",
            0.3,
            "breach",
            ("SEV3", 4, "Webhook retries doubled upstream load for 6 minutes."),
        ),
        Story("Scheduler lease tuning", "control-plane", "control_plane", 0.5, "complete"),
        Story(
            "Connector runtime 2.2", "connector-runtime", "connector_deployment", 0.8, "complete"
        ),
    ),
    (
        Story(
            "Policy engine: deny-by-default egress",
            "connector-runtime",
            "policy_update",
            0.15,
            "breach",
            ("SEV2", 8, "Egress to two partner APIs refused until rollback."),
        ),
        Story("Control-plane quotas v1", "control-plane", "control_plane", 0.35, "stall"),
        Story(
            "Connector runtime 2.3",
            "connector-runtime",
            "connector_deployment",
            0.55,
            "escaped",
            ("SEV3", 35, "Slow cold starts found a day after full rollout."),
        ),
        Story("Audit log shipper", "control-plane", "control_plane", 0.8, "complete"),
    ),
    (
        Story(
            "Hotfix: connector TLS session reuse",
            "connector-runtime",
            "security_patch",
            0.2,
            "waived",
            ("SEV1", 100, "TLS handshakes failed on every node for 14 minutes."),
        ),
        Story(
            "Connector runtime 2.3.1", "connector-runtime", "connector_deployment", 0.45, "complete"
        ),
        Story(
            "Scheduler work stealing",
            "control-plane",
            "control_plane",
            0.7,
            "breach",
            ("SEV3", 2, "Leader flapped on the canary cluster."),
        ),
        Story("Metrics exporter 3.0", "connector-runtime", "connector_deployment", 0.9, "complete"),
    ),
    (
        Story(
            "Connector runtime 2.4 beta",
            "connector-runtime",
            "connector_deployment",
            0.1,
            "complete",
        ),
        Story(
            "Rate limiter rewrite",
            "connector-runtime",
            "connector_deployment",
            0.3,
            "breach",
            ("SEV2", 9, "p99 latency tripled for the canary's tenants."),
        ),
        Story("Control-plane quotas v2", "control-plane", "control_plane", 0.5, "complete"),
        Story(
            "Secrets cache",
            "connector-runtime",
            "connector_deployment",
            0.7,
            "escaped",
            ("SEV4", 20, "Stale secrets served for up to 5 minutes after rotation."),
        ),
        Story("Tenant routing table", "control-plane", "control_plane", 0.85, "breach"),
    ),
)
# The third quarter's freeze: it began the day before the TLS hotfix (share 0.2),
# which went through it under its waiver, and lasted three days.
FREEZE_AT: Final = (2, 0.2, timedelta(days=3))


def _quarters(now: datetime) -> list[Quarter]:
    quarter: Quarter | None = Quarter.containing(now)
    found: list[Quarter] = []
    while quarter is not None and len(found) < len(QUARTERS):
        found.append(quarter)
        quarter = quarter.previous
    return list(reversed(found))


def _moment(quarter: Quarter, share: float, now: datetime) -> datetime:
    """A weekday-morning moment ``share`` of the way into the past part of ``quarter``."""
    end = min(quarter.end, now - timedelta(days=2))
    day = quarter.start + (end - quarter.start) * share
    day = day.replace(hour=9, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _metrics(rng: random.Random, moment: datetime, exposure: float, plan: str) -> dict[str, Any]:
    metrics = healthy_metrics(rng, moment, exposure)
    metrics.pop("availability", None)
    if plan == "breach" and exposure >= 10:
        metrics["p99"] = f"{rng.randint(900, 1500)}ms"
    if plan == "stall":
        metrics["error_rate"] = round(0.02 + rng.uniform(0, 0.005), 4)
    return metrics


def _drive(
    proposal: ChangeProposal, plan: str, start: datetime, users: dict[str, User]
) -> datetime:
    """Start the rollout at ``start`` and report every ``STEP`` until it stops; when it stopped."""
    rng = random.Random(proposal.pk)
    with at(start):
        wedge = wedge_start(proposal_id=proposal.pk, actor=users["dave"], reason="Release train")
    moment = start
    for _ in range(40):
        moment += STEP
        with at(moment):
            metrics = _metrics(rng, moment, wedge.exposure_percentage, plan)
            # A snapshot is evaluated when it arrives (advance, pause, roll back),
            # so the history needs no tick of its own.
            wedge = wedge_record_snapshot(
                proposal_id=proposal.pk, metrics=metrics, actor=users["pipeline"]
            ).wedge
            if wedge.wedge_state == State.ACTIVE and wedge.awaiting_approval_since is not None:
                wedge = wedge_approve_advance(
                    proposal_id=proposal.pk, actor=users["dave"], reason="Looks healthy"
                ).wedge
        if wedge.wedge_state != State.ACTIVE:
            break
    if wedge.wedge_state == State.PAUSED:
        moment += timedelta(hours=2)
        with at(moment):
            wedge_rollback(
                proposal_id=proposal.pk,
                actor=users["dave"],
                reason="Error rate never came down; reverting to investigate.",
            )
    if wedge.wedge_state != State.COMPLETE:  # rolled back, by the policy or the operator
        deployer_reads_rollback(wedge.pk, moment, rng)
    return moment


def _submit(body: dict[str, Any], author: User, moment: datetime) -> ChangeProposal:
    check = check_submission(copy.deepcopy(body))
    assert check.storable, check.to_dict()
    with at(moment):
        return proposal_submit(check=check, author=author).proposal


def _tell(story: Story, key: str, moment: datetime, users: dict[str, User]) -> None:
    if story.plan == "waived":
        proposal = _submit(_waived_body(story.title, key), users["alice"], moment)
        with at(moment + timedelta(minutes=5)):
            waiver = waiver_request(
                requester=users["alice"],
                rationale="Security fix: the staged rollout would leave nodes exposed for hours.",
                duration_days=3,
                proposal=proposal,
            )
        with at(moment + timedelta(minutes=30)):
            waiver_approve(waiver=waiver, approver=users["bob"], comment="Agreed as section lead.")
        with at(moment + timedelta(minutes=50)):
            waiver_approve(waiver=waiver, approver=users["carol"], comment="One step, then.")
        start = moment + timedelta(hours=1)
    else:
        body = _body(story.title, story.subsystem, story.change_type, key)
        proposal = _submit(body, users["alice"], moment)
        start = moment + timedelta(minutes=25)
    plan = "complete" if story.plan in ("waived", "escaped") else story.plan
    stopped = _drive(proposal, plan, start, users)
    if story.incident is None:
        return
    severity, affected, summary = story.incident
    # An escaped fault shows up a day after the rollout finished; the others while it ran.
    occurred = stopped + timedelta(days=1) if story.plan == "escaped" else stopped - STEP / 2
    recorded = occurred + timedelta(hours=3)
    subject = ChangeProposal.objects.select_related("subsystem__section", "rollout_wedge").get(
        pk=proposal.pk
    )
    with at(recorded):
        incident_record(
            proposal=subject,
            reported_by=users["dave"],
            occurred_at=occurred,
            severity=severity,
            affected_percentage=affected,
            summary=summary,
        )


@transaction.atomic
def seed_demo_history(now: datetime | None = None) -> list[str]:
    """Create the history once (idempotent); returns what it created."""
    if ChangeProposal.objects.filter(external_reference__startswith=HISTORY_REFERENCE).exists():
        return []
    now = now or timezone.now()
    names = ["alice", "bob", "carol", "dave", "pipeline"]
    users = {user.username: user for user in User.objects.filter(username__in=names)}
    quarters = _quarters(now)
    created = 0
    for index, (quarter, stories) in enumerate(zip(quarters, QUARTERS, strict=False)):
        if index == FREEZE_AT[0]:
            starts = _moment(quarter, FREEZE_AT[1], now) - timedelta(days=1)
            with at(starts - timedelta(days=2)):
                freeze_declare(
                    actor=users["bob"],
                    reason="Partner launch week: no connector changes",
                    starts_at=starts,
                    ends_at=starts + FREEZE_AT[2],
                    subsystems=["connector-runtime"],
                )
        for number, story in enumerate(stories):
            _tell(story, f"{quarter}-{number}", _moment(quarter, story.share, now), users)
            created += 1
    return [f"{created} past rollouts over {len(quarters)} quarters", "a past change freeze"]
