"""Bench data: real, started wedges, most of them bulk-copied from one that was not.

One proposal goes through the real path (``check_submission`` ->
``proposal_submit`` -> ``wedge_start``); the rest copy its proposal, frozen
wedge, stages and engine position with ``bulk_create``, which is ~100x faster
and leaves rows the engine cannot tell apart: ACTIVE at the implicit
``initial`` stage, stage opened now, with a fresh healthy snapshot as their
latest evidence. The copies have no audit rows (the audit chain is measured on
its own by ``bench.bench_audit``).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from bench.measure import check

HEALTHY: dict[str, Any] = {"error_rate": 0.002, "p99": "180ms"}
BREACHING: dict[str, Any] = {"error_rate": 0.2, "p99": "180ms"}

PROPOSAL: dict[str, Any] = {
    "title": "Bench rollout",
    "description": "A connector release rolled out by the benchmark.",
    "change_type": "connector_deployment",
    "subsystem": "connector-runtime",
    "external_reference": "bench/0",
    "rollout_wedge": {
        "wedge_stages": [
            {
                "stage_id": "canary",
                "target_percentage": 10,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
            },
            {
                "stage_id": "half",
                "target_percentage": 50,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
            },
            {
                "stage_id": "full",
                "target_percentage": 90,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
            },
        ],
        "initial_percentage": 5,
        "increment_policy": "linear",
        "max_blast_radius": 90,
        "observation_window_hours": 1.0,
        "wedge_state": "PENDING",
    },
}

BATCH = 2_000


def ten_stage_proposal() -> dict[str, Any]:
    """A valid proposal whose wedge has 10 stages on a clean linear ladder (no warnings)."""
    body = copy.deepcopy(PROPOSAL)
    body["rollout_wedge"].update(
        {
            "wedge_stages": [
                {
                    "stage_id": f"stage-{n}",
                    "target_percentage": 10 * n,
                    "duration_hours": 2,
                    "success_criteria": [
                        "error_rate < 0.01",
                        "p99 <= 200ms",
                        "availability >= 99.9%",
                    ],
                    "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
                }
                for n in range(1, 11)
            ],
            "max_blast_radius": 100,
        }
    )
    return body


def started_template(*, author: Any, operator: Any) -> Any:
    """One proposal submitted and started through the real services."""
    from wedges.services import proposal_submit, wedge_start
    from wedges.submission import check_submission

    verdict = check_submission(copy.deepcopy(PROPOSAL))
    check(verdict.valid, verdict.to_dict())
    proposal = proposal_submit(check=verdict, author=author).proposal
    wedge_start(proposal_id=proposal.pk, actor=operator, reason="bench")
    return proposal


def copy_started(template: Any, count: int, *, now: datetime, first_number: int) -> list[int]:
    """``count`` ACTIVE copies of the template's wedge; returns the new proposal ids."""
    from django.db import connection, transaction

    from wedges.models import ChangeProposal, MetricSnapshot, RolloutWedge, State, WedgeStage

    wedge = RolloutWedge.objects.get(proposal=template)
    stages = list(wedge.stages.order_by("position"))
    ids: list[int] = []
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        numbers = range(first_number + offset, first_number + offset + size)
        with transaction.atomic():
            proposals = ChangeProposal.objects.bulk_create(
                ChangeProposal(
                    title=f"Bench rollout {n}",
                    description=template.description,
                    change_type=template.change_type,
                    subsystem_id=template.subsystem_id,
                    author_id=template.author_id,
                    external_reference=f"bench/{n}",
                )
                for n in numbers
            )
            wedges = RolloutWedge.objects.bulk_create(
                RolloutWedge(
                    proposal=proposal,
                    initial_percentage=wedge.initial_percentage,
                    increment_policy=wedge.increment_policy,
                    max_blast_radius=wedge.max_blast_radius,
                    observation_window_hours=wedge.observation_window_hours,
                    document=wedge.document,
                    wedge_state=State.ACTIVE,
                    current_stage_index=wedge.current_stage_index,
                    exposure_percentage=wedge.exposure_percentage,
                    stage_opened_at=now,
                    window_ends_at=now + timedelta(hours=wedge.observation_window_hours),
                    # With no evidence from this stage (the copied snapshot goes
                    # stale first), the engine stores the pause moment as due.
                    pause_at=now + 3 * timedelta(hours=wedge.observation_window_hours),
                    due_at=now + 3 * timedelta(hours=wedge.observation_window_hours),
                    started_at=now,
                )
                for proposal in proposals
            )
            WedgeStage.objects.bulk_create(
                WedgeStage(
                    wedge=copy_of,
                    position=stage.position,
                    stage_id=stage.stage_id,
                    target_percentage=stage.target_percentage,
                    duration_hours=stage.duration_hours,
                    success_criteria=stage.success_criteria,
                    rollback_trigger=stage.rollback_trigger,
                )
                for copy_of in wedges
                for stage in stages
            )
            MetricSnapshot.objects.bulk_create(
                MetricSnapshot(
                    wedge=copy_of,
                    received_at=now,
                    values=HEALTHY,
                    stage_index=copy_of.current_stage_index,
                    reported_by_id=template.author_id,
                )
                for copy_of in wedges
            )
            with connection.cursor() as cursor:
                # The engine's denormalised pointer to the newest snapshot.
                cursor.execute(
                    "UPDATE wedges_rolloutwedge AS w "
                    "SET latest_snapshot_id = s.id, due_snapshot_id = s.id "
                    "FROM wedges_metricsnapshot AS s "
                    "WHERE s.wedge_id = w.id AND w.id = ANY(%s)",
                    [[w.pk for w in wedges]],
                )
        ids.extend(p.pk for p in proposals)
    return ids
