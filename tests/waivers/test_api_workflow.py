"""The whole workflow through the API: request, both approvals, a covered proposal, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.waivers.helpers import BODY, SINGLE_STAGE, T, codes

pytestmark = pytest.mark.django_db
URL = "/api/v1/waivers/"


def submit_single_stage(token_client) -> dict:
    body = {**BODY, "rollout_wedge": {**BODY["rollout_wedge"], "wedge_stages": SINGLE_STAGE}}
    response = token_client("pipeline").post("/api/v1/proposals/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["waiver_required"] is True
    return response.json()


def test_request_approve_cover_start_and_expire_through_the_api(demo, token_client):
    with time_machine.travel(T, tick=False):
        proposal = submit_single_stage(token_client)
        pid = proposal["id"]

        # The author's pipeline requests a waiver for its proposal.
        response = token_client("pipeline").post(
            URL,
            {
                "rationale": "Config-only change behind a flag.",
                "duration_days": 30,
                "proposal": pid,
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        waiver = response.json()
        wid = waiver["id"]
        assert response["Location"] == f"/api/v1/waivers/{wid}/"
        assert waiver["state"] == "REQUESTED"
        assert waiver["scope"] == "proposal"
        assert waiver["proposal"] == pid
        assert waiver["subsystem"] == "connector-runtime"
        assert waiver["change_type"] == "connector_deployment"
        assert waiver["requester"] == "pipeline"
        assert waiver["approvals"] == []
        assert waiver["expires_at"] is None

        # It cannot start yet.
        start = token_client("dave").post(f"/api/v1/proposals/{pid}/start/", {}, format="json")
        assert start.status_code == 409
        assert start.json()["errors"][0]["code"] == "waiver_required"

        # The reviewer first, then the lead: order does not matter.
        response = token_client("carol").post(
            f"{URL}{wid}/approve/", {"comment": "Reviewed."}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert response.json()["state"] == "PARTIALLY_APPROVED"
        response = token_client("bob").post(f"{URL}{wid}/approve/", {}, format="json")
        assert response.status_code == 200, response.json()
        waiver = response.json()
        assert waiver["state"] == "APPROVED"
        assert waiver["approved_at"] == "2026-12-01T09:00:00Z"
        assert waiver["expires_at"] == "2026-12-31T09:00:00Z"
        assert waiver["covered_proposals"] == [pid]
        assert [(a["approver"], a["role"], a["comment"]) for a in waiver["approvals"]] == [
            ("carol", "reviewer", "Reviewed."),
            ("bob", "lead", ""),
        ]
        assert token_client("pipeline").get(f"/api/v1/proposals/{pid}/").json()["waiver"] == wid

    # Expiry by the job; the proposal, never started, can no longer start.
    with time_machine.travel(T + dt.timedelta(days=30), tick=False):
        from waivers.tasks import expire_waivers

        assert expire_waivers.apply().get() == 1
        waiver = token_client("erin").get(f"{URL}{wid}/").json()
        assert waiver["state"] == "EXPIRED"
        assert waiver["closed_at"] == "2026-12-31T09:00:00Z"
        start = token_client("dave").post(f"/api/v1/proposals/{pid}/start/", {}, format="json")
        assert start.status_code == 409

    assert codes(wid) == ["WDG-201", "WDG-202", "WDG-202", "WDG-203", "WDG-207", "WDG-205"]
    # Every step is in the audit trail, as its API shows it.
    trail = token_client("erin").get("/api/v1/audit-events/", {"waiver": wid})
    assert trail.status_code == 200
    listed = trail.json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert sorted(row["code"] for row in rows) == [
        "WDG-201",
        "WDG-202",
        "WDG-202",
        "WDG-203",
        "WDG-205",
        "WDG-207",
    ]


def test_a_standing_waiver_through_the_api_and_its_revocation(demo, token_client):
    response = token_client("alice").post(
        URL,
        {
            "rationale": "Connector hotfixes this quarter.",
            "duration_days": 90,
            "subsystem": "connector-runtime",
            "change_type": "connector_deployment",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    wid = response.json()["id"]
    assert response.json()["scope"] == "standing"
    assert response.json()["proposal"] is None
    for name in ("bob", "frank"):
        assert token_client(name).post(f"{URL}{wid}/approve/", {}, format="json").status_code == 200

    proposal = submit_single_stage(token_client)
    assert proposal["waiver"] == wid  # covered at submission

    response = token_client("bob").post(
        f"{URL}{wid}/revoke/", {"reason": "Incident INC-9."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "REVOKED"
    assert response.json()["closed_by"] == "bob"
    assert response.json()["closing_reason"] == "Incident INC-9."
    assert submit_single_stage(token_client)["waiver"] is None


def test_reject_through_the_api(demo, token_client, single_stage, request_waiver):
    waiver = request_waiver(proposal=single_stage())
    response = token_client("bob").post(
        f"{URL}{waiver.pk}/reject/", {"reason": "Use two stages."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "REJECTED"
    assert response.json()["closing_reason"] == "Use two stages."
    response = token_client("carol").post(f"{URL}{waiver.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": None,
            "code": "waiver_closed",
            "message": f"Waiver #{waiver.pk} was rejected; it can no longer be approved.",
        }
    ]
