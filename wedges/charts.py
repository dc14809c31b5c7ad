"""What a proposal's charts draw, on one time axis.

* exposure as a step line, with the max blast radius;
* one small chart per metric the criteria and triggers name, read in the unit
  the first expression naming it uses, with each stage's success-criterion and
  rollback-trigger thresholds drawn over the time that stage was open;
* stage openings and the policy's events (pause, rollback, completion) as
  marks on every chart.

Times are milliseconds since the epoch (what Chart.js's time scale takes); the
browser draws them in UTC like every other time on the pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.codes import EXPOSURE_EVENTS, EventCode
from audit.models import AuditEvent
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.policy.codes import INITIAL_STAGE_ID
from wedges.policy.engine import StageView
from wedges.policy.explain import comparisons
from wedges.policy.expressions import Comparison, parse

# Events marked on the charts besides stage openings; advances open a stage.
_MARKED = {
    EventCode.PAUSED.value: "Paused",
    EventCode.ROLLED_BACK.value: "Rolled back",
    EventCode.COMPLETED.value: "Completed",
    EventCode.WEDGE_RESUMED.value: "Resumed",
}
_OPENING = {EventCode.WEDGE_STARTED.value, EventCode.STAGE_ADVANCED.value}


def metric_readers(wedge: RolloutWedge) -> dict[str, Comparison]:
    """For each metric the criteria and triggers name, a comparison that reads it."""
    readers: dict[str, Comparison] = {}
    for stage in wedge.policy_view().stages:
        for text in (*stage.success_criteria, stage.rollback_trigger):
            for comparison in comparisons(parse(text)):
                readers.setdefault(comparison.metric, comparison)
    return readers


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class _Period:
    """A stage while it was open: the gating stage's thresholds apply from ``start`` to ``end``."""

    stage: StageView
    start: int
    end: int


def _periods(
    wedge: RolloutWedge, events: Sequence[AuditEvent], end: int
) -> tuple[list[_Period], list[dict[str, Any]]]:
    """The stages as they were open, and a mark for each opening."""
    view = wedge.policy_view()
    by_id = {stage.stage_id: stage for stage in view.stages}
    openings = [
        (event.stage_id, _ms(event.occurred_at))
        for event in events
        if event.code in _OPENING and event.stage_id
    ]
    periods: list[_Period] = []
    marks: list[dict[str, Any]] = []
    for position, (stage_id, start) in enumerate(openings):
        # The implicit hold is gated by stage 1's criteria and trigger.
        stage = view.stages[0] if stage_id == INITIAL_STAGE_ID else by_id.get(stage_id)
        close = openings[position + 1][1] if position + 1 < len(openings) else end
        marks.append({"x": start, "label": stage_id})
        if stage is not None:
            periods.append(_Period(stage, start, close))
    return periods, marks


def _thresholds(
    periods: Iterable[_Period], metric: str, reader: Comparison
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Criterion and trigger thresholds of ``metric``, per period, in the reader's unit."""
    criteria: list[dict[str, Any]] = []
    triggers: list[dict[str, Any]] = []
    for period in periods:
        texts = [(text, criteria) for text in period.stage.success_criteria]
        texts.append((period.stage.rollback_trigger, triggers))
        for text, into in texts:
            for comparison in comparisons(parse(text)):
                if comparison.metric != metric:
                    continue
                value = comparison.threshold.to(reader.threshold.unit)
                if value is None:
                    continue  # a unit the chart's axis cannot show
                into.append(
                    {"from": period.start, "to": period.end, "y": value, "label": str(comparison)}
                )
    return criteria, triggers


def chart_data(
    wedge: RolloutWedge,
    events: Iterable[AuditEvent],
    snapshots: Iterable[MetricSnapshot],
    now: datetime,
) -> dict[str, Any]:
    events = list(events)
    running = wedge.wedge_state in (State.ACTIVE, State.PAUSED)
    exposure: list[dict[str, float]] = []
    for event in events:
        if event.code in EXPOSURE_EVENTS and event.target_percentage is not None:
            exposure.append({"x": _ms(event.occurred_at), "y": float(event.target_percentage)})
    if wedge.wedge_state == State.PENDING or not exposure:
        return {"empty": "pending", "metrics": []}
    start = int(exposure[0]["x"])
    finished = wedge.finished_at if not running and wedge.finished_at else None
    end = max(_ms(now if finished is None else finished), start + 60_000)  # a minute at least
    if not running:
        # A little room after the end, so the last step (to 0 after a rollback) shows.
        end += max(60_000, (end - start) // 30)
    exposure.append({"x": end, "y": exposure[-1]["y"]})
    periods, stage_marks = _periods(wedge, events, end)
    marks = [
        {"x": _ms(event.occurred_at), "label": _MARKED[event.code], "code": event.code}
        for event in events
        if event.code in _MARKED
    ]
    readers = metric_readers(wedge)
    series: dict[str, list[dict[str, float]]] = {name: [] for name in readers}
    received = 0
    for snapshot in snapshots:
        received += 1
        for name, reader in readers.items():
            value = reader.read(snapshot.values)
            if value is not None:
                series[name].append({"x": _ms(snapshot.received_at), "y": value})
    metrics = []
    for name, reader in readers.items():
        criteria, triggers = _thresholds(periods, name, reader)
        metrics.append(
            {
                "name": name,
                "unit": reader.threshold.unit or "",
                "points": series[name],
                "criteria": criteria,
                "triggers": triggers,
            }
        )
    return {
        "empty": "" if received else "no-metrics",
        "range": {"start": start, "end": end},
        "exposure": exposure,
        "max_blast_radius": wedge.max_blast_radius,
        "stages": stage_marks,
        "events": marks,
        "metrics": metrics,
    }
