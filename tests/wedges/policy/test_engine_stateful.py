"""A stateful property test of the engine: no sequence of snapshots, clock moves,
approvals, pauses and resumes skips a stage, advances before the observation
window, or exposes more than ``max_blast_radius``."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import event, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wedges.policy import codes
from wedges.policy.engine import (
    Action,
    Decision,
    Snapshot,
    StageView,
    WedgeView,
    apply,
    decide,
    desired_exposure,
    exposure_for,
    pause,
    resume,
    start,
)
from wedges.policy.ladder import generate_ladder

EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
FRESHNESS = timedelta(minutes=10)
CRITERIA = ("error_rate < 0.01", "p99 <= 200ms")
TRIGGER = "error_rate > 0.05 or p99 > 1s"
SNAPSHOT_KINDS: dict[str, dict[str, object]] = {
    "healthy": {"error_rate": 0.001, "p99": "120ms"},
    "degraded": {"error_rate": 0.02, "p99": "150ms"},  # criteria unmet, no trigger
    "slow": {"error_rate": 0.001, "p99": "0.5s"},  # criteria unmet, no trigger
    "partial": {"p99": "100ms"},  # error_rate missing: unmet, trigger not fired
    "breach": {"error_rate": 0.2, "p99": "100ms"},  # trigger fires
    "overexposed": {"error_rate": 0.001, "p99": "120ms", "exposure_percentage": 100.5},
}
# Clock moves that hit the edges: a second, a window of 1h, 3 windows, and in between.
TICKS = st.one_of(
    st.sampled_from([1, 59, 600, 3599, 3600, 3601, 7200, 10_800]),
    st.integers(min_value=0, max_value=4 * 3600),
).map(lambda seconds: timedelta(seconds=seconds))


@st.composite
def wedges(draw: st.DrawFn) -> WedgeView:
    """A PENDING wedge from a generated ladder; the blast radius may be set below the
    top stages (impossible after validation) to check the engine still holds it."""
    policy = draw(st.sampled_from(codes.INCREMENT_POLICIES))
    count = draw(st.integers(min_value=2, max_value=5))
    first = draw(st.sampled_from([1.0, 5.0, 10.0, 25.0]))
    targets = generate_ladder(policy, first, 100.0, count)
    initial = draw(st.sampled_from([first, first / 2]))
    window = draw(st.sampled_from([1.0, 1.5, 2.0]))
    stages = tuple(
        StageView(
            stage_id=f"s{index}",
            target_percentage=target,
            duration_hours=draw(st.sampled_from([0.5, window, 2 * window])),
            success_criteria=CRITERIA,
            rollback_trigger=TRIGGER,
        )
        for index, target in enumerate(targets)
    )
    blast = draw(st.sampled_from([100.0] * 3 + targets[:-1]))
    return WedgeView(
        state="PENDING",
        stages=stages,
        stage_index=0,
        stage_opened_at=None,
        initial_percentage=initial,
        max_blast_radius=blast,
        observation_window_hours=window,
        increment_policy=policy,
    )


class RolloutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = EPOCH
        self.snapshot: Snapshot | None = None
        self.view: WedgeView | None = None
        self.visited: list[int] = []
        self.decisions: list[Decision] = []

    @property
    def wedge(self) -> WedgeView:
        assert self.view is not None
        return self.view

    @initialize(view=wedges())
    def start_rollout(self, view: WedgeView) -> None:
        self.view = start(view, self.now)
        self.visited = [self.view.stage_index]

    # -- Events --

    @rule(delta=TICKS)
    def clock_moves(self, delta: timedelta) -> None:
        self.now += delta
        self.step(approval=False)  # the periodic backstop

    # Healthy snapshots dominate, so runs get far enough to advance through stages.
    @rule(
        kind=st.sampled_from(["healthy"] * 6 + sorted(SNAPSHOT_KINDS)),
        lag=st.sampled_from([0, 60, 900]),
    )
    def snapshot_arrives(self, kind: str, lag: int) -> None:
        self.snapshot = Snapshot(
            dict(SNAPSHOT_KINDS[kind]), received_at=self.now - timedelta(seconds=lag)
        )
        self.step(approval=False)  # triggers are evaluated on arrival

    @rule(extra=st.sampled_from([0, 1, 1800, 3600]), approval=st.booleans())
    def healthy_window_passes(self, extra: int, approval: bool) -> None:
        """A window (plus a little) goes by, a healthy snapshot arrives and perhaps an
        operator approves: the move that makes progress, so runs reach later stages."""
        self.clock_moves(self.wedge.observation_window + timedelta(seconds=extra))
        self.snapshot_arrives("healthy", 0)
        if approval:
            self.operator_approves()

    @rule()
    def operator_approves(self) -> None:
        self.step(approval=True)

    @precondition(lambda self: self.view is not None and self.view.state == "ACTIVE")
    @rule()
    def operator_pauses(self) -> None:
        self.view = pause(self.wedge)

    @precondition(lambda self: self.view is not None and self.view.state == "PAUSED")
    @rule()
    def operator_resumes(self) -> None:
        self.view = resume(self.wedge, self.now)

    # -- Applying decisions, checking each one before it is applied --

    def step(self, *, approval: bool) -> None:
        before = self.wedge
        decision = decide(
            before, self.snapshot, self.now, freshness=FRESHNESS, operator_approval=approval
        )
        self.check_decision(before, decision, approval)
        after = apply(before, decision, self.now)
        if before.state in ("COMPLETE", "ROLLED_BACK"):
            assert after == before, "terminal states are final"
        if after.stage_index != before.stage_index:
            self.visited.append(after.stage_index)
        self.view = after
        self.decisions.append(decision)

    def check_decision(self, view: WedgeView, decision: Decision, approval: bool) -> None:
        if decision.action in (Action.ADVANCE, Action.COMPLETE, Action.PAUSE):
            assert view.state == "ACTIVE"
        if decision.action in (Action.ADVANCE, Action.COMPLETE):
            self.check_advance(view, decision, approval)
        if decision.action is Action.PAUSE:
            assert view.stage_opened_at is not None
            assert self.now - view.stage_opened_at >= 3 * timedelta(
                hours=view.observation_window_hours
            )
        if decision.action is Action.ROLLBACK:
            assert view.state in ("ACTIVE", "PAUSED")
            assert decision.rule in (codes.RULE_ROLLBACK, codes.RULE_BLAST)

    def check_advance(self, view: WedgeView, decision: Decision, approval: bool) -> None:
        assert view.stage_opened_at is not None
        # INV-RWG-OBSERVE: never before the window.
        assert self.now - view.stage_opened_at >= timedelta(hours=view.observation_window_hours)
        # The evidence: a fresh snapshot from this stage meeting every criterion.
        assert self.snapshot is not None
        assert self.snapshot.received_at >= view.stage_opened_at
        assert self.now - self.snapshot.received_at <= FRESHNESS
        assert decision.criteria
        assert all(result.met for result in decision.criteria)
        if view.increment_policy == "manual":
            assert approval
        if decision.action is Action.ADVANCE:
            # INV-RWG-STAGED and INV-RWG-BLAST for the stage about to open.
            assert decision.target_index == view.stage_index + 1
            assert decision.target_percentage == exposure_for(view, view.stage_index + 1)
            assert decision.target_percentage <= view.max_blast_radius
        else:
            assert view.stage_index == len(view.stages) - 1

    def teardown(self) -> None:
        # Coverage signal for --hypothesis-show-statistics: how far runs got.
        if self.view is not None:
            event(f"ended {self.view.state}")
            event(f"stages advanced: {len(self.visited) - 1}")
            target(float(len(self.visited)), label="stages visited")

    # -- Invariants after every step --

    @invariant()
    def never_skips_a_stage(self) -> None:
        steps = [later - earlier for earlier, later in itertools.pairwise(self.visited)]
        assert all(step == 1 for step in steps), self.visited

    @invariant()
    def exposure_within_blast_radius(self) -> None:
        if self.view is not None:
            assert desired_exposure(self.view) <= self.view.max_blast_radius

    @invariant()
    def stage_opened_in_the_past(self) -> None:
        if self.view is not None and self.view.stage_opened_at is not None:
            assert self.view.stage_opened_at <= self.now


RolloutMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
TestRollout = RolloutMachine.TestCase


def test_a_healthy_rollout_reaches_complete() -> None:
    """A concrete run of the machine's rules, so the happy path is known to be reachable."""
    machine = RolloutMachine()
    view = WedgeView(
        state="PENDING",
        stages=(
            StageView("canary", 5, 1, CRITERIA, TRIGGER),
            StageView("half", 50, 1, CRITERIA, TRIGGER),
            StageView("full", 100, 1, CRITERIA, TRIGGER),
        ),
        stage_index=0,
        stage_opened_at=None,
        initial_percentage=1,
        max_blast_radius=100,
        observation_window_hours=1,
        increment_policy="linear",
    )
    machine.start_rollout(view)
    for _ in range(4):  # initial hold, then the three stages
        machine.clock_moves(timedelta(hours=1))
        machine.snapshot_arrives("healthy", 0)
    assert machine.wedge.state == "COMPLETE"
    assert machine.visited == [-1, 0, 1, 2]
    assert [d.action for d in machine.decisions if d.action is not Action.NONE] == [
        Action.ADVANCE,
        Action.ADVANCE,
        Action.ADVANCE,
        Action.COMPLETE,
    ]
