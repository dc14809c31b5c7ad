"""What the dashboard and the proposal page show about a running rollout.

Pure reads: the policy's decision for the wedge now, turned into the numbers a
person needs (stage n of m, time in stage against the window, each criterion
with its latest value, when it may advance next).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wedges.models import RolloutWedge, State
from wedges.policy import codes
from wedges.policy.engine import Action, CriterionResult, Decision
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
