"""What each gate answers, from the engine's decision for the wedge (no Django here).

The decision is the engine's (``wedges.policy.engine.decide``, through the
rollout services); a gate only says what it means for the step the tool asks
about. One rule carries every traffic gate (Flagger's
``confirm-traffic-increase``, Argo's analysis step) and the promotion:

* a canary may step up to the exposure of the stage the wedge is at;
* and one stage further once that stage is eligible — its observation window
  has elapsed and a fresh snapshot meets every criterion — and every other
  canary mapped to the proposal reports healthy; for a ``manual`` wedge only
  once an operator has approved, which advances the wedge itself;
* past the last stage means promotion: allowed once the last stage is
  eligible (``manual``: approved, i.e. COMPLETE) or the wedge is COMPLETE.

Each canary moves one stage per allowed step (``granted_stage``): the tools
ask again before every weight increase, and a stage that is eligible for a
while must not let a canary climb several steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gates import errors
from wedges.hooks import AdvanceHold
from wedges.policy import codes
from wedges.policy.codes import WedgeState
from wedges.policy.engine import Action, Decision

APPROVED: Final = "approved"
PENDING: Final = "pending"
REJECTED: Final = "rejected"


@dataclass(frozen=True)
class WedgeFacts:
    """The wedge as a gate sees it at one moment."""

    state: str
    manual: bool
    stage_ids: tuple[str, ...]  # the declared stages, in order
    stage_index: int | None  # the open stage (-1: the implicit initial hold); None before start
    first_index: int  # where the ladder starts: -1 with an initial hold, else 0
    exposure: float
    decision: Decision | None  # the engine's, for ACTIVE and PAUSED wedges
    hold: AdvanceHold | None  # what holds the wedge's advance (other canaries)
    rollback_reason: str = ""

    @property
    def promotion_index(self) -> int:
        return len(self.stage_ids)

    @property
    def stage_id(self) -> str | None:
        return None if self.stage_index is None else self.label(self.stage_index)

    def label(self, index: int) -> str:
        if index == codes.INITIAL_STAGE_INDEX:
            return codes.INITIAL_STAGE_ID
        if index >= len(self.stage_ids):
            return "promotion"
        return self.stage_ids[index]

    @property
    def eligible(self) -> bool:
        """The open stage passed its gate: the engine says eligible, no canary holds it."""
        return (
            self.state == WedgeState.ACTIVE
            and self.decision is not None
            and self.decision.eligible
            and self.decision.action != Action.ROLLBACK
            and self.hold is None
        )

    def reach(self) -> int | None:
        """The highest stage a canary may step up to now; ``None``: no step at all."""
        if self.state == WedgeState.COMPLETE:
            return self.promotion_index
        if self.state != WedgeState.ACTIVE or self.stage_index is None:
            return None
        if self.eligible and not self.manual:
            return self.stage_index + 1
        return self.stage_index


@dataclass(frozen=True)
class Answer:
    allowed: bool
    decision: str  # approved | pending | rejected
    code: str  # "allowed", or the hold's code (gates.errors)
    reason: str
    grant: int | None = None  # the stage this answer lets the canary step up to


def _allowed(reason: str, grant: int | None = None) -> Answer:
    return Answer(True, APPROVED, "allowed", reason, grant)


def _held(facts: WedgeFacts, code: str, reason: str) -> Answer:
    decision = REJECTED if facts.state == WedgeState.ROLLED_BACK else PENDING
    return Answer(False, decision, code, reason)


def state_hold(facts: WedgeFacts) -> Answer:
    """The answer to a step the wedge's state alone refuses."""
    if facts.state == WedgeState.PENDING:
        return _held(facts, errors.HOLD_NOT_STARTED, "the rollout has not started yet")
    if facts.state == WedgeState.PAUSED:
        return _held(facts, errors.HOLD_PAUSED, "the rollout is paused; exposure holds")
    if facts.state == WedgeState.ROLLED_BACK:
        why = f": {facts.rollback_reason}" if facts.rollback_reason else ""
        return _held(facts, errors.HOLD_ROLLED_BACK, f"Wedge rolled the rollout back{why}")
    if facts.state == WedgeState.COMPLETE:
        return _held(
            facts,
            errors.HOLD_COMPLETE,
            "the rollout is complete; a new revision needs a new proposal",
        )
    return _held(facts, errors.HOLD_NOT_ELIGIBLE, f"the wedge is {facts.state}")


def _why_not(facts: WedgeFacts) -> Answer:
    """Why the open stage of an ACTIVE wedge does not let canaries move on yet."""
    decision = facts.decision
    here = facts.stage_id
    if decision is not None and decision.eligible and facts.hold is not None:
        return _held(facts, errors.HOLD_CANARIES, facts.hold.reason)
    if facts.manual and decision is not None and decision.eligible:
        return _held(
            facts,
            errors.HOLD_AWAITING_APPROVAL,
            f"stage {here!r} is eligible; a manual wedge moves on an operator's approval",
        )
    reason = decision.reason if decision is not None else f"the wedge is {facts.state}"
    return _held(facts, errors.HOLD_NOT_ELIGIBLE, f"stage {here!r} is not eligible yet: {reason}")


def traffic_step(facts: WedgeFacts, granted: int | None) -> Answer:
    """May this canary increase its traffic one step (having stepped up to ``granted``)?"""
    reach = facts.reach()
    if reach is None:
        return state_hold(facts)
    step = facts.first_index if granted is None else granted + 1
    if step <= reach:
        step = min(step, facts.promotion_index)
        return _allowed(f"step up to stage {facts.label(step)!r} allowed", grant=step)
    if reach >= facts.promotion_index:
        return _allowed("the last stage has passed: every step to promotion is allowed")
    answer = _why_not(facts)
    here = facts.first_index if facts.stage_index is None else facts.stage_index
    if granted is not None and granted > here:
        return Answer(
            False,
            answer.decision,
            errors.HOLD_STEP_TAKEN,
            f"this canary already stepped up to stage {facts.label(granted)!r}; the wedge "
            f"moves past stage {facts.stage_id!r} when it advances",
        )
    return answer


def anonymous_step(facts: WedgeFacts) -> Answer:
    """A step for a caller that does not say which canary it is: nothing is counted."""
    reach = facts.reach()
    if reach is None:
        return state_hold(facts)
    if facts.stage_index is not None and reach > facts.stage_index:
        return _allowed(f"stage {facts.stage_id!r} has passed its gate")
    if reach >= facts.promotion_index:
        return _allowed("the rollout is complete")
    return _why_not(facts)


def confirm_rollout(facts: WedgeFacts) -> Answer:
    if facts.state == WedgeState.ACTIVE:
        return _allowed("the rollout is active")
    return state_hold(facts)


def analysis_running(facts: WedgeFacts) -> Answer:
    """``pre-rollout`` and ``rollout``: may the canary take (or keep) traffic at all?

    Flagger counts a refusal here as a failed check and rolls its canary back
    after its threshold, so only what should end the canary refuses: a
    rollout never started or rolled back. A pause holds traffic through the
    traffic gates instead.
    """
    if facts.state in (WedgeState.ACTIVE, WedgeState.PAUSED, WedgeState.COMPLETE):
        return _allowed(f"the rollout is {facts.state.lower().replace('_', ' ')}")
    return state_hold(facts)


def confirm_promotion(facts: WedgeFacts) -> Answer:
    reach = facts.reach()
    if reach is not None and reach >= facts.promotion_index:
        return _allowed(
            "the rollout is complete"
            if facts.state == WedgeState.COMPLETE
            else f"the last stage {facts.stage_id!r} is eligible"
        )
    if facts.state != WedgeState.ACTIVE:
        return state_hold(facts)
    last = facts.promotion_index - 1
    if facts.stage_index is not None and facts.stage_index < last:
        return _held(
            facts,
            errors.HOLD_NOT_LAST_STAGE,
            f"the wedge is at stage {facts.stage_id!r}, not yet at its last stage "
            f"{facts.label(last)!r}",
        )
    return _why_not(facts)


def rollback(facts: WedgeFacts) -> Answer:
    """Flagger's ``rollback`` hook: 200 means "roll back now"."""
    if facts.state == WedgeState.ROLLED_BACK:
        answer = state_hold(facts)
        return Answer(True, REJECTED, errors.HOLD_ROLLED_BACK, answer.reason)
    return Answer(
        False,
        PENDING,
        errors.HOLD_NOT_ROLLED_BACK,
        f"Wedge has not rolled the rollout back (it is {facts.state})",
    )


def flagger(gate: str, facts: WedgeFacts, granted: int | None) -> Answer:
    """The answer to one of Flagger's gating hooks."""
    if gate == "confirm-rollout":
        return confirm_rollout(facts)
    if gate in ("pre-rollout", "rollout"):
        return analysis_running(facts)
    if gate == "confirm-traffic-increase":
        return traffic_step(facts, granted)
    if gate == "confirm-promotion":
        return confirm_promotion(facts)
    if gate == "rollback":
        return rollback(facts)
    raise ValueError(f"not a gating hook: {gate!r}")


def argo(facts: WedgeFacts, granted: int | None, *, anonymous: bool) -> Answer:
    """The ``web`` metric's answer: always a measurement, never an HTTP error."""
    if facts.state == WedgeState.ROLLED_BACK:
        return state_hold(facts)
    return anonymous_step(facts) if anonymous else traffic_step(facts, granted)
