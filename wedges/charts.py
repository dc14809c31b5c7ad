"""Series for a proposal's rollout chart: exposure as a step line, its events as
markers, and the metrics its criteria name, read in the units the criteria use."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from audit.codes import EXPOSURE_EVENTS, POLICY_EVENTS
from audit.models import AuditEvent
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.policy.expressions import And, Comparison, Expr, Or, parse


def _comparisons(expr: Expr) -> Iterator[Comparison]:
    if isinstance(expr, Comparison):
        yield expr
    elif isinstance(expr, And | Or):
        for term in expr.terms:
            yield from _comparisons(term)


def metric_readers(wedge: RolloutWedge) -> dict[str, Comparison]:
    """For each metric the criteria and triggers name, a comparison that reads it."""
    readers: dict[str, Comparison] = {}
    for stage in wedge.policy_view().stages:
        for text in (*stage.success_criteria, stage.rollback_trigger):
            for comparison in _comparisons(parse(text)):
                readers.setdefault(comparison.metric, comparison)
    return readers


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def chart_data(
    wedge: RolloutWedge,
    events: Iterable[AuditEvent],
    snapshots: Iterable[MetricSnapshot],
    now: datetime,
) -> dict[str, Any]:
    exposure: list[dict[str, float]] = []
    markers: list[dict[str, Any]] = []
    for event in events:
        if event.code not in EXPOSURE_EVENTS or event.target_percentage is None:
            continue
        point = {"x": _ms(event.occurred_at), "y": float(event.target_percentage)}
        exposure.append(point)
        if event.code in POLICY_EVENTS:
            markers.append({**point, "code": event.code, "stage": event.stage_id})
    if exposure and wedge.wedge_state in (State.ACTIVE, State.PAUSED):
        exposure.append({"x": _ms(now), "y": exposure[-1]["y"]})
    readers = metric_readers(wedge)
    series: dict[str, list[dict[str, float]]] = {name: [] for name in readers}
    for snapshot in snapshots:
        for name, reader in readers.items():
            value = reader.read(snapshot.values)
            if value is not None:
                series[name].append({"x": _ms(snapshot.received_at), "y": value})
    units = {name: reader.threshold.unit or "" for name, reader in readers.items()}
    return {
        "exposure": exposure,
        "markers": markers,
        "max_blast_radius": wedge.max_blast_radius,
        "metrics": [
            {"name": name, "unit": units[name], "points": points} for name, points in series.items()
        ],
    }
