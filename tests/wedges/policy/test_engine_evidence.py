"""Evidence from several sources: the latest value of each metric received during the stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from wedges.policy import codes
from wedges.policy.engine import Action, Snapshot, WedgeView, decide, merge_evidence

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
FRESH = timedelta(minutes=10)
MakeView = Callable[..., WedgeView]


def merged(*parts: tuple[datetime, dict[str, object]], since: datetime) -> Snapshot | None:
    evidence: Snapshot | None = None
    for at, values in parts:
        evidence = merge_evidence(evidence, values, at, since=since)
    return evidence


def test_a_later_snapshot_adds_to_the_earlier_one(now: datetime) -> None:
    evidence = merged(
        (now, {"error_rate": 0.001, "p99": "150ms"}),
        (now + SECOND, {"exposure_percentage": 1}),
        since=now,
    )
    assert evidence is not None
    assert dict(evidence.values) == {"error_rate": 0.001, "p99": "150ms", "exposure_percentage": 1}
    assert evidence.arrived("error_rate") == now
    assert evidence.arrived("exposure_percentage") == now + SECOND
    assert evidence.received_at == now + SECOND


def test_the_latest_value_of_a_metric_wins(now: datetime) -> None:
    evidence = merged((now, {"p99": "150ms"}), (now + SECOND, {"p99": "190ms"}), since=now)
    assert evidence is not None
    assert evidence.values["p99"] == "190ms"


def test_a_missing_value_replaces_the_earlier_one(now: datetime) -> None:
    evidence = merged((now, {"error_rate": 0.001}), (now + SECOND, {"error_rate": None}), since=now)
    assert evidence is not None
    assert evidence.values == {"error_rate": None}


def test_values_from_before_the_stage_are_dropped(now: datetime) -> None:
    evidence = merged(
        (now - SECOND, {"error_rate": 0.001, "p99": "150ms"}),
        (now, {"exposure_percentage": 10}),
        since=now,
    )
    assert evidence is not None
    assert dict(evidence.values) == {"exposure_percentage": 10}


def test_an_exposure_push_keeps_a_polled_breach_in_view(make_view: MakeView, now: datetime) -> None:
    """The known gap: an agent's push no longer hides what Prometheus said."""
    view = make_view()
    evidence = merged(
        (now + SECOND, {"error_rate": 0.2}),
        (now + 2 * SECOND, {"exposure_percentage": 1}),
        since=now,
    )
    decision = decide(view, evidence, now + 2 * SECOND, freshness=FRESH)
    assert (decision.action, decision.rule) == (Action.ROLLBACK, codes.RULE_ROLLBACK)


def test_criteria_read_values_from_both_sources(
    make_view: MakeView, now: datetime, hour: timedelta
) -> None:
    view = make_view(document={"increment_policy": "manual"})
    evidence = merged(
        (now + hour, {"error_rate": 0.001}),
        (now + hour + SECOND, {"p99": "150ms"}),
        since=now,
    )
    decision = decide(view, evidence, now + hour + SECOND, freshness=FRESH)
    assert decision.rule == codes.RULE_AWAITING_APPROVAL
    assert all(result.met for result in decision.criteria)


@pytest.mark.parametrize(
    ("age", "stale"),
    [(FRESH - SECOND, False), (FRESH, False), (FRESH + SECOND, True)],
    ids=["fresh minus a second", "exactly the bound", "a second past"],
)
def test_freshness_applies_to_the_metrics_the_criteria_need(
    make_view: MakeView, now: datetime, hour: timedelta, age: timedelta, stale: bool
) -> None:
    view = make_view(document={"increment_policy": "manual"})
    decided_at = now + 2 * hour
    evidence = merged(
        (decided_at - age, {"error_rate": 0.001, "p99": "150ms"}),
        # An unrelated, newer push must not make the criteria's values fresh.
        (decided_at, {"exposure_percentage": 1}),
        since=now,
    )
    decision = decide(view, evidence, decided_at, freshness=FRESH)
    if stale:
        assert decision.rule == codes.RULE_STALE_SNAPSHOT
        assert "error_rate, p99" in decision.reason
    else:
        assert decision.rule == codes.RULE_AWAITING_APPROVAL


def test_one_stale_criterion_metric_blocks_advancing(
    make_view: MakeView, now: datetime, hour: timedelta
) -> None:
    view = make_view()
    decided_at = now + 2 * hour
    evidence = merged(
        (decided_at - FRESH - SECOND, {"p99": "150ms"}),
        (decided_at, {"error_rate": 0.001}),
        since=now,
    )
    decision = decide(view, evidence, decided_at, freshness=FRESH)
    assert decision.rule == codes.RULE_STALE_SNAPSHOT
    assert "p99" in decision.reason
    assert "error_rate" not in decision.reason


def test_a_missing_criterion_metric_leaves_the_criterion_unmet(
    make_view: MakeView, now: datetime, hour: timedelta
) -> None:
    view = make_view()
    decided_at = now + 2 * hour
    evidence = merged(
        (decided_at, {"error_rate": None, "p99": "150ms"}),
        since=now,
    )
    decision = decide(view, evidence, decided_at, freshness=FRESH)
    assert (decision.action, decision.rule) == (Action.NONE, codes.RULE_CRITERIA_UNMET)


def test_a_missing_value_never_fires_a_trigger(make_view: MakeView, now: datetime) -> None:
    view = make_view()
    evidence = merged((now, {"error_rate": None, "p99": None}), since=now)
    decision = decide(view, evidence, now, freshness=FRESH)
    assert decision.action is Action.NONE
    # Shown as read nothing, like an absent metric.
    assert decision.trigger is not None
    assert decision.trigger.values == ()


def test_evidence_of_the_last_stage_does_not_count_after_an_advance(
    make_view: MakeView, now: datetime, hour: timedelta
) -> None:
    """The tick advanced the wedge: the stored evidence is from the previous stage."""
    evidence = merged((now - SECOND, {"error_rate": 0.2}), since=now - hour)
    view = make_view(stage_index=0, stage_opened_at=now)
    decision = decide(view, evidence, now, freshness=FRESH)
    assert decision.action is Action.NONE
    assert decision.trigger is not None
    assert not decision.trigger.met


def test_part_of_the_evidence_may_predate_the_stage(
    make_view: MakeView, now: datetime, hour: timedelta
) -> None:
    evidence = merged(
        (now - SECOND, {"error_rate": 0.2}), (now + SECOND, {"p99": "150ms"}), since=now - hour
    )
    view = make_view(stage_index=0, stage_opened_at=now)
    decision = decide(view, evidence, now + SECOND, freshness=FRESH)
    # error_rate arrived before the stage: not evidence now; p99 is.
    assert decision.action is Action.NONE
    assert decision.trigger is not None
    assert decision.trigger.values_dict() == {"p99": "150ms"}


def test_a_single_snapshot_behaves_as_before(make_view: MakeView, now: datetime) -> None:
    snapshot = Snapshot({"error_rate": 0.2}, now)
    assert snapshot.since(now) is snapshot
    assert snapshot.since(now + SECOND) is None
    assert decide(make_view(), snapshot, now, freshness=FRESH).action is Action.ROLLBACK
