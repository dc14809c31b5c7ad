"""The OpenAPI document describes the waiver endpoints and their error responses."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_documents_the_waiver_endpoints(token_client):
    response = token_client("erin").get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths["/api/v1/waivers/"]) >= {"get", "post"}
    assert set(paths["/api/v1/waivers/{id}/approve/"]["post"]["responses"]) >= {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
    }
    assert set(paths["/api/v1/waivers/"]["post"]["responses"]) >= {"201", "400", "403", "409"}
    waiver = schema["components"]["schemas"]["Waiver"]["properties"]
    assert "PARTIALLY_APPROVED" in str(schema["components"]["schemas"])
    assert {"id", "state", "expires_at", "approvals", "covered_proposals"} <= set(waiver)
