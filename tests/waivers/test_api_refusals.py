"""The API's answers when it refuses: 400 with field paths, 403 for roles, 409 for rules."""

from __future__ import annotations

import pytest

from waivers.models import WaiverRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/waivers/"
STANDING = {"subsystem": "connector-runtime", "change_type": "connector_deployment"}


def errors(response) -> set[tuple[str | None, str]]:
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


@pytest.fixture
def waiver(single_stage, request_waiver):
    return request_waiver("alice", proposal=single_stage("alice"))


def test_duration_above_90_days_is_a_400_on_duration_days(token_client):
    response = token_client("alice").post(
        URL, {"rationale": "why", "duration_days": 91, **STANDING}, format="json"
    )
    assert response.status_code == 400
    assert errors(response) == {("duration_days", "duration_out_of_range")}
    assert "1 to 90 days" in response.json()["errors"][0]["message"]
    assert not WaiverRequest.objects.exists()


def test_type_errors_and_unknown_references_have_field_paths(token_client):
    response = token_client("alice").post(
        URL,
        {"rationale": "why", "duration_days": "ten", "subsystem": "conector-runtime"},
        format="json",
    )
    assert response.status_code == 400
    assert errors(response) == {("duration_days", "invalid"), ("subsystem", "does_not_exist")}
    response = token_client("alice").post(
        URL, {"rationale": "why", "duration_days": 5, "proposal": 999999}, format="json"
    )
    assert errors(response) == {("proposal", "does_not_exist")}


def test_unknown_keys_are_refused(token_client):
    response = token_client("alice").post(
        URL, {"rationale": "why", "duration_days": 5, "duration": 5, **STANDING}, format="json"
    )
    assert response.status_code == 400
    assert errors(response) == {("duration", "unknown_key")}


def test_rule_input_errors_come_from_the_service(token_client, single_stage):
    proposal = single_stage()
    response = token_client("alice").post(
        URL,
        {"rationale": "", "duration_days": 0, "proposal": proposal.pk, **STANDING},
        format="json",
    )
    assert response.status_code == 400
    assert errors(response) == {
        ("rationale", "blank"),
        ("duration_days", "duration_out_of_range"),
        (None, "scope_ambiguous"),
    }


@pytest.mark.parametrize("name", ["carol", "erin"])
def test_who_may_not_request_gets_403(token_client, name):
    response = token_client(name).post(
        URL, {"rationale": "why", "duration_days": 5, **STANDING}, format="json"
    )
    assert response.status_code == 403
    assert errors(response) == {(None, "not_allowed_to_request")}


@pytest.mark.parametrize("name", ["alice", "erin", "dave"])
def test_engineers_auditors_and_operators_cannot_approve_or_reject(token_client, waiver, name):
    for action, body in (("approve", {}), ("reject", {"reason": "no"})):
        response = token_client(name).post(f"{URL}{waiver.pk}/{action}/", body, format="json")
        assert response.status_code == 403, (name, action)
        assert errors(response) == {(None, "not_a_reviewer")}


@pytest.mark.parametrize("name", ["carol", "frank", "erin", "alice"])
def test_revoke_by_a_non_lead_is_403(token_client, waiver, name):
    response = token_client(name).post(f"{URL}{waiver.pk}/revoke/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert errors(response) == {(None, "not_allowed_to_revoke")}


def test_what_the_rules_refuse_is_409_with_a_clear_message(token_client, waiver):
    bob, carol, frank = token_client("bob"), token_client("carol"), token_client("frank")
    assert carol.post(f"{URL}{waiver.pk}/approve/", {}, format="json").status_code == 200
    # A second vote by the same person.
    response = carol.post(f"{URL}{waiver.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert errors(response) == {(None, "already_voted")}
    # Only the lead's slot remains and frank leads another section.
    response = frank.post(f"{URL}{waiver.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert errors(response) == {(None, "lead_approval_required")}
    assert "lead of the Platform section" in response.json()["errors"][0]["message"]
    assert bob.post(f"{URL}{waiver.pk}/approve/", {}, format="json").status_code == 200
    response = frank.post(f"{URL}{waiver.pk}/reject/", {"reason": "late"}, format="json")
    assert response.status_code == 409
    assert errors(response) == {(None, "waiver_closed")}


def test_self_approval_is_409(token_client, request_waiver):
    waiver = request_waiver("bob", **STANDING)
    response = token_client("bob").post(f"{URL}{waiver.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert errors(response) == {(None, "self_approval")}


def test_reasons_are_required(token_client, waiver):
    response = token_client("bob").post(f"{URL}{waiver.pk}/reject/", {}, format="json")
    assert response.status_code == 400
    assert errors(response) == {("reason", "required")}
    response = token_client("bob").post(f"{URL}{waiver.pk}/revoke/", {"reason": " "}, format="json")
    assert response.status_code == 400
    assert errors(response) == {("reason", "blank")}


def test_approve_accepts_an_empty_body(token_client, waiver):
    response = token_client("bob").post(f"{URL}{waiver.pk}/approve/")
    assert response.status_code == 200, response.json()


def test_anonymous_is_401(api_client, waiver):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(f"{URL}{waiver.pk}/approve/", {}, format="json").status_code == 401
