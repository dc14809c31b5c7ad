"""Bad input is a 400 in the error shape: never a 500, and nothing is stored."""

import json

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from wedges.models import ChangeProposal

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/"


def post_raw(client, body: str | bytes, content_type: str = "application/json"):
    return client.post(URL, data=body, content_type=content_type)


def assert_rejected(response, code: str | None = None, field: str | None = None):
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors
    for error in errors:
        assert set(error) >= {"field", "code", "message"}
    if code is not None:
        assert any(e["code"] == code and (field is None or e["field"] == field) for e in errors), (
            errors
        )
    assert ChangeProposal.objects.count() == 0
    assert AuditEvent.objects.exclude(code="WDG-302").count() == 0


@pytest.fixture
def client(token_client):
    return token_client("alice")


def test_malformed_json(client):
    assert_rejected(post_raw(client, '{"title": "x",'), "parse_error")


def test_empty_body_reports_the_required_fields(client):
    assert_rejected(post_raw(client, ""), "required", "title")


def test_wrong_content_type(client, proposal_body):
    response = post_raw(client, json.dumps(proposal_body), "text/plain")
    assert_rejected(response, "unsupported_media_type")


def test_form_encoded_body_is_refused(client):
    response = client.post(URL, {"title": "x"})  # multipart
    assert_rejected(response, "unsupported_media_type")


def test_body_over_the_size_limit(client, proposal_body):
    proposal_body["description"] = "x" * 5000
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096):
        response = post_raw(client, json.dumps(proposal_body))
    assert_rejected(response, "body_too_large")


def test_deeply_nested_json(client):
    body = "[" * 10_000 + "]" * 10_000
    assert_rejected(post_raw(client, body), "parse_error")


def test_nesting_inside_the_wedge(client, proposal_body):
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    proposal_body["rollout_wedge"]["max_blast_radius"] = nested
    assert_rejected(post_raw(client, json.dumps(proposal_body)), "parse_error")


@pytest.mark.parametrize("wedge", [[], "wedge", 42, None, True])
def test_wedge_that_is_not_an_object(client, proposal_body, wedge):
    proposal_body["rollout_wedge"] = wedge
    assert_rejected(post_raw(client, json.dumps(proposal_body)), "not_an_object", "rollout_wedge")


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_body_that_is_not_an_object(client, body):
    assert_rejected(post_raw(client, body), "not_an_object")


def test_strings_where_numbers_belong(client, proposal_body):
    proposal_body["rollout_wedge"]["observation_window_hours"] = "two"
    proposal_body["rollout_wedge"]["wedge_stages"][0]["duration_hours"] = "1"
    assert_rejected(
        post_raw(client, json.dumps(proposal_body)),
        "wrong_type",
        "rollout_wedge.observation_window_hours",
    )


def test_percentages_as_strings(client, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"][1]["target_percentage"] = "50%"
    assert_rejected(
        post_raw(client, json.dumps(proposal_body)),
        "wrong_type",
        "rollout_wedge.wedge_stages[1].target_percentage",
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities(client, proposal_body, constant):
    body = json.dumps(proposal_body).replace(
        '"max_blast_radius": 90', f'"max_blast_radius": {constant}'
    )
    assert constant in body
    assert_rejected(post_raw(client, body), "parse_error")


def test_huge_number_is_not_finite(client, proposal_body):
    body = json.dumps(proposal_body).replace('"max_blast_radius": 90', '"max_blast_radius": 1e400')
    assert_rejected(post_raw(client, body), "not_finite", "rollout_wedge.max_blast_radius")


def test_unknown_subsystem(client, proposal_body):
    proposal_body["subsystem"] = "nope"
    assert_rejected(post_raw(client, json.dumps(proposal_body)), "unknown_subsystem", "subsystem")


def test_invalid_utf8(client):
    assert_rejected(post_raw(client, b'{"title": "\xff"}'), "parse_error")


def test_non_pending_state_on_submission(client, proposal_body):
    proposal_body["rollout_wedge"]["wedge_state"] = "ACTIVE"
    assert_rejected(
        post_raw(client, json.dumps(proposal_body)),
        "wedge_state_not_pending",
        "rollout_wedge.wedge_state",
    )
