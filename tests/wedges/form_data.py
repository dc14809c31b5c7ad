"""Turning an API submission document into the proposal form's POST data."""

from __future__ import annotations

from typing import Any


def form_data(body: dict[str, Any], *, extra_rows: int = 0) -> dict[str, str]:
    wedge = body.get("rollout_wedge", {})
    stages = wedge.get("wedge_stages", [])
    data: dict[str, str] = {
        "title": body.get("title", ""),
        "description": body.get("description", ""),
        "change_type": body.get("change_type", ""),
        "subsystem": body.get("subsystem", ""),
        "external_reference": body.get("external_reference", ""),
        "initial_percentage": _text(wedge.get("initial_percentage")),
        "increment_policy": wedge.get("increment_policy", ""),
        "max_blast_radius": _text(wedge.get("max_blast_radius")),
        "observation_window_hours": _text(wedge.get("observation_window_hours")),
        "stages-TOTAL_FORMS": str(len(stages) + extra_rows),
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "100",
    }
    for index, stage in enumerate(stages):
        prefix = f"stages-{index}-"
        data[prefix + "stage_id"] = stage["stage_id"]
        data[prefix + "target_percentage"] = _text(stage["target_percentage"])
        data[prefix + "duration_hours"] = _text(stage["duration_hours"])
        data[prefix + "success_criteria"] = "\n".join(stage["success_criteria"])
        data[prefix + "rollback_trigger"] = stage["rollback_trigger"]
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value)
