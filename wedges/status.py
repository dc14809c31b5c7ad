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
from wedges.policy.engine import (
    Action,
    CriterionResult,
    Decision,
    saturating_hours,
    saturating_plus,
)
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
    stages = list(wedge.stages.all())
    index = wedge.current_stage_index
    running = wedge.wedge_state in (State.ACTIVE, State.PAUSED)
    decision = decide(wedge, now) if running else None
    # Stored plans may predate the bound on their hours: a date past the
    # calendar's end is "never" (None), not an error on a page everyone uses.
    window = saturating_hours(wedge.observation_window_hours)
    next_advance_at = None
    if decision is not None and wedge.wedge_state == State.ACTIVE and wedge.stage_opened_at:
        gate = stages[max(index or 0, 0)]
        duration_end = saturating_plus(wedge.stage_opened_at, saturating_hours(gate.duration_hours))
        window_end = saturating_plus(wedge.stage_opened_at, window)
        if wedge.increment_policy == "manual":
            next_advance_at = window_end
        elif window_end is not None and duration_end is not None:
            next_advance_at = max(window_end, duration_end)
    return RolloutStatus(
        wedge=wedge,
        decision=decision,
        stage_number=(index + 1) if index is not None else 0,
        stage_count=len(stages),
        stage_id=wedge.current_stage_id if index is not None else None,
        time_in_stage=(now - wedge.stage_opened_at) if running and wedge.stage_opened_at else None,
        window=window,
        next_advance_at=next_advance_at,
    )
