"""``due_at``: the moment the beat tick has to look at a wedge again.

The tick reads only wedges whose stored ``due_at`` has passed (or that have
newer evidence), so ``due_at`` must never be late: before it, ``decide`` takes
no action; at it, ``decide`` acts (so the tick never reads a wedge for nothing).
``decide`` can only change its answer where time crosses one of the stage's
moments, so checking at every such moment and just before it covers every
instant in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wedges.policy.conftest import NOW, VALID_DOCUMENT, build_snapshot, build_view
from wedges.policy.engine import (
    Action,
    Snapshot,
    WedgeView,
    decide,
    due_at,
    pause_at,
    saturating_hours,
    saturating_plus,
)

HOUR = timedelta(hours=1)
FRESH = timedelta(minutes=10)
TICK = timedelta(microseconds=1)


def acts(view: WedgeView, snapshot: Snapshot | None, at: datetime, freshness: timedelta) -> bool:
    return decide(view, snapshot, at, freshness=freshness).action != Action.NONE


def moments(view: WedgeView, snapshot: Snapshot | None, freshness: timedelta) -> set[datetime]:
    """Every instant at which ``decide``'s answer may change, and the instant before each."""
    assert view.stage_opened_at is not None
    opened = view.stage_opened_at
    durations = [saturating_hours(view.observation_window_hours)]
    durations += [saturating_hours(stage.duration_hours) for stage in view.stages]
    found = {saturating_plus(opened, d) for d in durations}
    found.add(pause_at(opened, view.observation_window_hours))
    if snapshot is not None:
        found.add(saturating_plus(snapshot.received_at, freshness))
        found.add(snapshot.received_at)
    points = {moment for moment in found if moment is not None}
    return points | {moment - TICK for moment in points} | {moment + TICK for moment in points}


values = st.sampled_from(
    [
        {},  # healthy
        {"error_rate": 0.02},  # criteria unmet, trigger quiet
        {"error_rate": 0.2},  # trigger fires
        {"exposure_percentage": 150},  # above the blast radius
        {"p99": None},  # a metric missing: unmet, not fired
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    policy=st.sampled_from(["linear", "exponential", "manual"]),
    stage_index=st.integers(min_value=-1, max_value=3),
    window=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    duration=st.sampled_from([0.25, 1.0, 2.0, 7.0]),
    radius=st.sampled_from([100.0, 60.0]),
    snapshot_minutes=st.none() | st.integers(min_value=-120, max_value=600),
    snapshot_values=values,
    now_minutes=st.integers(min_value=0, max_value=720),
    freshness=st.sampled_from([timedelta(seconds=1), FRESH, HOUR, timedelta(days=2)]),
)
def test_the_tick_is_never_late_and_never_early(
    policy: str,
    stage_index: int,
    window: float,
    duration: float,
    radius: float,
    snapshot_minutes: int | None,
    snapshot_values: dict[str, object],
    now_minutes: int,
    freshness: timedelta,
) -> None:
    stages = [{**stage, "duration_hours": duration} for stage in VALID_DOCUMENT["wedge_stages"]]
    view = build_view(
        stage_index=stage_index,
        document={
            "increment_policy": policy,
            "observation_window_hours": window,
            "max_blast_radius": radius,
            "wedge_stages": stages,
        },
    )
    snapshot = None
    if snapshot_minutes is not None:
        snapshot = build_snapshot(NOW + timedelta(minutes=snapshot_minutes), **snapshot_values)
        snapshot = Snapshot(
            values={k: v for k, v in snapshot.values.items() if v is not None},
            received_at=snapshot.received_at,
        )
    now = NOW + timedelta(minutes=now_minutes)
    due = due_at(view, snapshot, now, freshness=freshness)
    if acts(view, snapshot, now, freshness):
        assert due == now
        return
    assert due is None or due > now
    for moment in moments(view, snapshot, freshness):
        if moment >= now and (due is None or moment < due):
            assert not acts(view, snapshot, moment, freshness), (moment, due)
    if due is not None:
        assert acts(view, snapshot, due, freshness), due


# --- Edges, by hand ------------------------------------------------------------------------


def test_no_evidence_is_due_at_the_pause() -> None:
    view = build_view()
    assert due_at(view, None, NOW, freshness=FRESH) == NOW + 3 * HOUR
    assert pause_at(NOW, 1.0) == NOW + 3 * HOUR
    assert pause_at(NOW, 1.0, multiple=5) == NOW + 5 * HOUR


def test_evidence_from_before_the_stage_counts_for_nothing() -> None:
    view = build_view()
    before = build_snapshot(NOW - timedelta(seconds=1))
    assert due_at(view, before, NOW, freshness=FRESH) == NOW + 3 * HOUR


def test_healthy_evidence_is_due_when_the_stage_may_advance() -> None:
    view = build_view()  # window 1 h, stage 1's duration 2 h: advances after 2 h
    healthy = build_snapshot(NOW + 2 * HOUR - timedelta(minutes=1))
    assert due_at(view, healthy, NOW + HOUR, freshness=FRESH) == NOW + 2 * HOUR


def test_healthy_evidence_that_goes_stale_first_waits_for_the_pause() -> None:
    view = build_view()
    early = build_snapshot(NOW + timedelta(minutes=5))
    assert due_at(view, early, NOW + HOUR, freshness=FRESH) == NOW + 3 * HOUR


def test_unmet_criteria_are_due_at_the_pause() -> None:
    view = build_view()
    unmet = build_snapshot(NOW + timedelta(minutes=90), error_rate=0.02)
    assert due_at(view, unmet, NOW + 2 * HOUR, freshness=FRESH) == NOW + 3 * HOUR


def test_an_eligible_manual_stage_pauses_once_its_evidence_is_stale() -> None:
    view = build_view(document={"increment_policy": "manual"})
    received = NOW + 3 * HOUR - timedelta(minutes=1)
    eligible = build_snapshot(received)
    due = due_at(view, eligible, NOW + 3 * HOUR, freshness=FRESH)
    assert due == received + FRESH + TICK
    assert not acts(view, eligible, received + FRESH, FRESH)
    assert acts(view, eligible, received + FRESH + TICK, FRESH)


def test_a_breach_is_due_now() -> None:
    view = build_view()
    breach = build_snapshot(NOW + timedelta(minutes=1), error_rate=0.2)
    assert due_at(view, breach, NOW + timedelta(minutes=2), freshness=FRESH) == NOW + timedelta(
        minutes=2
    )


def test_paused_and_finished_wedges_are_never_due() -> None:
    for state in ("PAUSED", "COMPLETE", "ROLLED_BACK", "PENDING"):
        opened = None if state == "PENDING" else NOW
        view = build_view(state=state, stage_opened_at=opened)
        assert due_at(view, None, NOW + 10 * HOUR, freshness=FRESH) is None


def test_a_window_past_the_calendar_is_never_due() -> None:
    view = build_view(document={"observation_window_hours": 1e308})
    assert due_at(view, build_snapshot(NOW), NOW, freshness=FRESH) is None
    assert pause_at(NOW, 1e308) is None
