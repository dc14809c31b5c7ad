"""The governance rules that are decisions rather than data: containment and who records.

**Contained by the wedge.** An incident counts as contained when both hold:

1. the proposal's wedge *stopped* the rollout: it is ``ROLLED_BACK``, or it is
   ``PAUSED`` (held and not resumed); and
2. the incident's ``affected_percentage`` is at most the exposure the wedge
   had reached when it stopped (``exposure_reached``).

That is: the staged rollout limited the blast to what it had exposed. An
incident on a ``COMPLETE`` wedge (the change went all the way out), on a
wedge that is still ``ACTIVE`` (nothing stopped it, including one that was
paused and then resumed), on a wedge that never started (``PENDING``), or
that affected more than the wedge had exposed (it escaped the wedge) is not
contained. The rule reads the wedge as it is when asked, so a paused wedge
that is later resumed stops containing its incidents — a past quarter's
report can change when a rollout it covers is still moving; the page and the
command say when they were computed.

**Who records incidents.** Whoever may operate the proposal's rollout:
operators everywhere and section leads in their own sections
(``org.access.can_operate``). They run rollouts and answer incidents;
auditors, reviewers and engineers read incidents but do not record them.
"""

from __future__ import annotations

from decimal import Decimal

from org import access
from org.access import AnyUser
from org.models import Subsystem
from wedges.models import RolloutWedge, State
from wedges.policy.engine import held_exposure

STOPPED_STATES = frozenset({State.ROLLED_BACK, State.PAUSED})


def may_record_incident(user: AnyUser, subsystem: Subsystem) -> bool:
    """Operators, and leads of the section owning ``subsystem``."""
    return access.can_operate(user, subsystem)


def exposure_reached(wedge: RolloutWedge) -> float:
    """The exposure the wedge held at the stage it is at (or stopped at).

    Exposure only grows while a wedge runs (one stage at a time, a pause
    holds it), so this is the highest exposure the wedge ever reached. It is
    the policy's exposure for that stage rather than ``exposure_percentage``,
    which a rollback sets to 0. Reads the stage rows: prefetch
    ``proposal__rollout_wedge__stages`` for many.
    """
    if wedge.current_stage_index is None:
        return 0.0  # never started
    return held_exposure(wedge.policy_view(), wedge.current_stage_index)


def is_contained(wedge: RolloutWedge, affected_percentage: Decimal | float) -> bool:
    """Whether an incident affecting ``affected_percentage`` was contained by ``wedge``."""
    if wedge.wedge_state not in STOPPED_STATES:
        return False
    return Decimal(str(affected_percentage)) <= Decimal(str(exposure_reached(wedge)))
