"""Many proposals at once, for query-count and benchmark tests (bulk inserts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from org.models import Subsystem, User
from tests.documents import PROPOSAL
from wedges.models import ChangeProposal, RolloutWedge, State, WedgeStage


def bulk_proposals(
    count: int, *, author: User, active_every: int = 2, now: datetime | None = None
) -> None:
    """``count`` proposals with 3-stage wedges; every ``active_every``-th one ACTIVE at stage 1."""
    now = now or timezone.now()
    subsystem = Subsystem.objects.get(slug="connector-runtime")
    document = PROPOSAL["rollout_wedge"]
    proposals = ChangeProposal.objects.bulk_create(
        ChangeProposal(
            title=f"Bulk change {n}",
            change_type="connector_deployment",
            subsystem=subsystem,
            author=author,
        )
        for n in range(count)
    )
    wedges = RolloutWedge.objects.bulk_create(
        RolloutWedge(
            proposal=proposal,
            initial_percentage=document["initial_percentage"],
            increment_policy=document["increment_policy"],
            max_blast_radius=document["max_blast_radius"],
            observation_window_hours=document["observation_window_hours"],
            document=document,
            wedge_state=State.ACTIVE if n % active_every == 0 else State.PENDING,
            current_stage_index=0 if n % active_every == 0 else None,
            exposure_percentage=10 if n % active_every == 0 else 0,
            stage_opened_at=now if n % active_every == 0 else None,
            window_ends_at=now + timedelta(hours=1) if n % active_every == 0 else None,
            # No evidence yet: the engine would store its pause moment as due.
            pause_at=now + timedelta(hours=3) if n % active_every == 0 else None,
            due_at=now + timedelta(hours=3) if n % active_every == 0 else None,
            started_at=now if n % active_every == 0 else None,
        )
        for n, proposal in enumerate(proposals)
    )
    WedgeStage.objects.bulk_create(
        WedgeStage(
            wedge=wedge,
            position=position,
            stage_id=stage["stage_id"],
            target_percentage=stage["target_percentage"],
            duration_hours=stage["duration_hours"],
            success_criteria=stage["success_criteria"],
            rollback_trigger=stage["rollback_trigger"],
        )
        for wedge in wedges
        for position, stage in enumerate(document["wedge_stages"])
    )
