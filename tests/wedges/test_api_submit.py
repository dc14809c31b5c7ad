import json

import pytest

from audit.models import AuditEvent
from wedges.models import ChangeProposal, IdempotencyKey, WedgeStage
from wedges.services import request_fingerprint

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/"


def test_valid_submission_is_stored_frozen_and_audited(token_client, proposal_body):
    response = token_client("pipeline").post(URL, proposal_body, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/proposals/{body['id']}/"
    assert body["title"] == proposal_body["title"]
    assert body["subsystem"] == "connector-runtime"
    assert body["author"] == "pipeline"
    assert body["waiver_required"] is False
    wedge = body["rollout_wedge"]
    assert wedge["wedge_state"] == "PENDING"
    assert wedge["exposure_percentage"] == 0
    assert [s["stage_id"] for s in wedge["wedge_stages"]] == ["canary", "half", "full"]
    assert wedge["wedge_stages"][0]["success_criteria"] == ["error_rate < 0.01", "p99 <= 200ms"]
    proposal = ChangeProposal.objects.get(pk=body["id"])
    assert proposal.rollout_wedge.document == proposal_body["rollout_wedge"]
    event = AuditEvent.objects.get(proposal_id=proposal.pk)
    assert event.code == "WDG-101"
    assert event.actor.username == "pipeline"


def test_invalid_submission_reports_every_error_and_stores_nothing(token_client, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["observation_window_hours"] = 0.5
    wedge["wedge_stages"][1]["target_percentage"] = 10
    wedge["wedge_stages"][2]["success_criteria"] = ["error_rate <"]
    wedge["increment_polcy"] = "linear"
    response = token_client("alice").post(URL, proposal_body, format="json")
    assert response.status_code == 400
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors >= {
        ("rollout_wedge.observation_window_hours", "observation_window_too_short"),
        ("rollout_wedge.wedge_stages[1].target_percentage", "targets_not_increasing"),
        ("rollout_wedge.wedge_stages[2].success_criteria[0]", "expression_invalid"),
        ("rollout_wedge.increment_polcy", "unknown_key"),
    }
    unknown = next(e for e in response.json()["errors"] if e["code"] == "unknown_key")
    assert "did you mean 'increment_policy'" in unknown["message"]
    assert ChangeProposal.objects.count() == 0
    assert AuditEvent.objects.exclude(code="WDG-302").count() == 0


def test_a_rejected_submission_lists_the_dry_runs_errors(token_client, proposal_body):
    """The same error objects as the dry run, the policy's rule and waivability included."""
    wedge = proposal_body["rollout_wedge"]
    wedge["wedge_stages"][0]["target_percentage"] = 30  # rule 4, waivable
    wedge["observation_window_hours"] = 0.5  # rule 7, not waivable
    client = token_client("alice")
    dry_run = client.post(f"{URL}validate/", proposal_body, format="json").json()
    response = client.post(URL, proposal_body, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": dry_run["errors"]}
    assert {(e["code"], e["rule"], e["waivable"]) for e in response.json()["errors"]} >= {
        ("first_stage_too_large", 4, True),
        ("observation_window_too_short", 7, False),
    }
    assert ChangeProposal.objects.count() == 0


def test_envelope_errors_name_their_fields(token_client, proposal_body):
    proposal_body.update(title=" ", change_type="hotfix", subsystem="conector-runtime")
    response = token_client("alice").post(URL, proposal_body, format="json")
    assert response.status_code == 400
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["title"]["code"] == "blank"
    assert errors["change_type"]["code"] == "invalid_choice"
    assert errors["subsystem"]["code"] == "unknown_subsystem"
    assert "did you mean 'connector-runtime'" in errors["subsystem"]["message"]


def test_critical_subsystem_caps_the_initial_percentage(token_client, proposal_body):
    proposal_body["subsystem"] = "control-plane"
    proposal_body["rollout_wedge"]["initial_percentage"] = 10.01
    proposal_body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 20
    response = token_client("alice").post(URL, proposal_body, format="json")
    # Only a waivable rule is broken: stored, but it needs a waiver to start.
    assert response.status_code == 201
    assert response.json()["waiver_required"] is True
    assert response.json()["waivable_codes"] == ["initial_above_critical_cap"]


def test_breaking_only_waivable_rules_stores_with_waiver_required(token_client, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["wedge_stages"] = wedge["wedge_stages"][2:]  # one stage at 90 %
    response = token_client("alice").post(URL, proposal_body, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["waiver_required"] is True
    assert set(body["waivable_codes"]) == {"stages_too_few", "first_stage_too_large"}


def test_idempotency_key_replays_the_first_proposal(token_client, proposal_body):
    client = token_client("pipeline")
    first = client.post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="run-77")
    # The same body with keys in another order is the same request.
    reordered = dict(reversed(list(proposal_body.items())))
    again = client.post(URL, reordered, format="json", HTTP_IDEMPOTENCY_KEY="run-77")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ChangeProposal.objects.count() == 1
    assert AuditEvent.objects.filter(code="WDG-101").count() == 1


@pytest.mark.parametrize(("first", "retried"), [("1.0", "1"), ("1", "1e0"), ("90", "90.0")])
def test_a_retry_writing_a_number_differently_is_the_same_request(
    token_client, proposal_body, first, retried
):
    client = token_client("pipeline")
    proposal_body["rollout_wedge"]["observation_window_hours"] = 12345
    body = json.dumps(proposal_body)

    def post(number: str):
        return client.post(
            URL,
            body.replace("12345", number),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="run-79",
        )

    assert post(first).status_code == 201
    again = post(retried)
    assert again.status_code == 201, again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ChangeProposal.objects.count() == 1


def test_a_retry_with_another_number_is_409(token_client, proposal_body):
    client = token_client("pipeline")
    client.post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="run-80")
    proposal_body["rollout_wedge"]["observation_window_hours"] = 1.0000001
    response = client.post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="run-80")
    assert response.status_code == 409
    assert ChangeProposal.objects.count() == 1


def test_fingerprints_compare_json_values():
    assert request_fingerprint({"a": [1, 2.0], "b": -0.0}) == request_fingerprint(
        {"b": 0, "a": [1.0, 2]}
    )
    # true is not 1 and "1" is not 1, though Python's True == 1.
    assert len({request_fingerprint(v) for v in ({"a": 1}, {"a": True}, {"a": "1"})}) == 3
    assert request_fingerprint({"a": 10**17 + 1}) != request_fingerprint({"a": 1e17})


def test_idempotency_key_with_another_body_is_409(token_client, proposal_body):
    client = token_client("pipeline")
    client.post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="run-78")
    proposal_body["title"] = "Something else"
    response = client.post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="run-78")
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": None,
            "code": "idempotency_key_reused",
            "message": "This Idempotency-Key was already used with a different request body.",
        }
    ]
    assert ChangeProposal.objects.count() == 1


def test_idempotency_keys_are_per_user(token_client, proposal_body):
    token_client("pipeline").post(URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = token_client("alice").post(
        URL, proposal_body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 201
    assert ChangeProposal.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


@pytest.mark.parametrize("username", ["carol", "erin"])
def test_roles_without_engineer_rights_cannot_submit(token_client, proposal_body, username):
    response = token_client(username).post(URL, proposal_body, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert ChangeProposal.objects.count() == 0


def test_anonymous_submission_is_401(api_client, proposal_body):
    response = api_client.post(URL, proposal_body, format="json")
    assert response.status_code == 401


def test_stages_are_stored_in_order(token_client, proposal_body):
    response = token_client("alice").post(URL, proposal_body, format="json")
    stages = WedgeStage.objects.filter(wedge__proposal_id=response.json()["id"])
    assert [(s.position, s.stage_id) for s in stages] == [(0, "canary"), (1, "half"), (2, "full")]
