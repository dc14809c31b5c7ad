"""Builders shared by the policy tests.

Session-scoped fixtures that return builder functions: every call returns a
fresh object, so they are safe inside hypothesis tests (which reject
function-scoped fixtures because they are not reset between examples).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wedges.policy.engine import Snapshot, StageView, WedgeView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

# A clean document: valid, no warnings (linear ladder, durations >= the window).
VALID_DOCUMENT: dict[str, Any] = {
    "wedge_stages": [
        {
            "stage_id": "canary",
            "target_percentage": 10,
            "duration_hours": 2,
            "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
            "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
        },
        {
            "stage_id": "early",
            "target_percentage": 40,
            "duration_hours": 2,
            "success_criteria": ["error_rate < 0.01"],
            "rollback_trigger": "error_rate > 0.05",
        },
        {
            "stage_id": "broad",
            "target_percentage": 70,
            "duration_hours": 2,
            "success_criteria": ["error_rate < 0.01"],
            "rollback_trigger": "error_rate > 0.05",
        },
        {
            "stage_id": "full",
            "target_percentage": 100,
            "duration_hours": 2,
            "success_criteria": ["availability >= 99.9%"],
            "rollback_trigger": "availability < 99%",
        },
    ],
    "initial_percentage": 1,
    "increment_policy": "linear",
    "max_blast_radius": 100,
    "observation_window_hours": 1.0,
    "wedge_state": "PENDING",
}

# Metrics that meet every success criterion above and fire no trigger.
HEALTHY: dict[str, object] = {"error_rate": 0.001, "p99": "150ms", "availability": "99.95%"}


def build_document(**overrides: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID_DOCUMENT)
    document.update(overrides)
    return document


def view_of(document: dict[str, Any], **fields: Any) -> WedgeView:
    """The engine's view of a valid ``rollout_wedge`` document, as a stored wedge's would be.

    ``fields`` set the position: ``state``, ``stage_index``, ``stage_opened_at``.
    """
    stages = tuple(
        StageView(
            stage_id=stage["stage_id"],
            target_percentage=float(stage["target_percentage"]),
            duration_hours=float(stage["duration_hours"]),
            success_criteria=tuple(stage["success_criteria"]),
            rollback_trigger=stage["rollback_trigger"],
        )
        for stage in document["wedge_stages"]
    )
    position: dict[str, Any] = {"state": "PENDING", "stage_index": 0, "stage_opened_at": None}
    position.update(fields)
    return WedgeView(
        stages=stages,
        initial_percentage=float(document["initial_percentage"]),
        max_blast_radius=float(document["max_blast_radius"]),
        observation_window_hours=float(document["observation_window_hours"]),
        increment_policy=document["increment_policy"],
        **position,
    )


def build_view(**overrides: Any) -> WedgeView:
    """An ACTIVE view at the implicit hold, opened at ``NOW``, unless overridden."""
    document_overrides = overrides.pop("document", {})
    fields: dict[str, Any] = {"state": "ACTIVE", "stage_index": -1, "stage_opened_at": NOW}
    fields.update(overrides)
    return view_of(build_document(**document_overrides), **fields)


def build_snapshot(at: datetime, **values: object) -> Snapshot:
    return Snapshot(values={**HEALTHY, **values}, received_at=at)


@pytest.fixture(scope="session")
def make_document() -> Callable[..., dict[str, Any]]:
    return build_document


@pytest.fixture(scope="session")
def make_view() -> Callable[..., WedgeView]:
    return build_view


@pytest.fixture(scope="session")
def make_snapshot() -> Callable[..., Snapshot]:
    return build_snapshot


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def hour() -> timedelta:
    return timedelta(hours=1)
