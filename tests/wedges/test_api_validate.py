import pytest

from audit.models import AuditEvent
from wedges.models import ChangeProposal

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/validate/"


def test_dry_run_of_a_valid_submission(token_client, proposal_body):
    response = token_client("pipeline").post(URL, proposal_body, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "errors": [],
        "warnings": [],
        # three stages of 1 h plus a 1 h window for each
        "total_duration_hours": 6.0,
        "waiver_required": False,
    }
    assert ChangeProposal.objects.count() == 0
    assert AuditEvent.objects.exclude(code="WDG-302").count() == 0


def test_dry_run_reports_errors_and_warnings(token_client, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["observation_window_hours"] = 2
    wedge["wedge_stages"][1]["target_percentage"] = 20  # 10 -> 20 -> 90: not linear
    wedge["max_blast_radius"] = 80
    response = token_client("pipeline").post(URL, proposal_body, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("rollout_wedge.max_blast_radius", "blast_radius_below_stage"),
    }
    warnings = {w["code"] for w in body["warnings"]}
    assert warnings == {"ladder_not_linear", "stage_shorter_than_window"}
    assert body["total_duration_hours"] == 9.0
    assert ChangeProposal.objects.count() == 0


def test_dry_run_says_when_a_waiver_would_do(token_client, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"] = proposal_body["rollout_wedge"]["wedge_stages"][
        :1
    ]
    body = token_client("alice").post(URL, proposal_body, format="json").json()
    assert body["valid"] is False
    assert body["waiver_required"] is True
    assert [(e["code"], e["waivable"]) for e in body["errors"]] == [("stages_too_few", True)]


def test_dry_run_is_open_to_any_signed_in_role(token_client, proposal_body):
    assert token_client("erin").post(URL, proposal_body, format="json").status_code == 200


def test_dry_run_of_malformed_json_is_400(token_client):
    response = token_client("alice").post(URL, data="{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"
