"""Submission documents shared by the suite."""

from __future__ import annotations

from typing import Any

PROPOSAL: dict[str, Any] = {
    "title": "Roll out connector runtime 2.4",
    "description": "New connection pooling.",
    "change_type": "connector_deployment",
    "subsystem": "connector-runtime",
    "external_reference": "ci/run/1234",
    "rollout_wedge": {
        "wedge_stages": [
            {
                "stage_id": "canary",
                "target_percentage": 10,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
            },
            {
                "stage_id": "half",
                "target_percentage": 50,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01"],
                "rollback_trigger": "error_rate > 0.05",
            },
            {
                "stage_id": "full",
                "target_percentage": 90,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01"],
                "rollback_trigger": "error_rate > 0.05",
            },
        ],
        "initial_percentage": 5,
        "increment_policy": "linear",
        "max_blast_radius": 90,
        "observation_window_hours": 1.0,
        "wedge_state": "PENDING",
    },
}
