"""Defects the fuzzer found, now fixed: each stays as a regression test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(token_client) -> APIClient:
    return token_client("dave")


def documented(client: APIClient, method: str, path: str) -> set[str]:
    schema: dict[str, Any] = json.loads(client.get("/api/v1/schema/?format=json").content)
    return set(schema["paths"][path][method]["responses"])


def test_waiver_list_documents_its_404(dave):
    assert dave.get("/api/v1/waivers/?page=99").status_code == 404
    assert "404" in documented(dave, "get", "/api/v1/waivers/")


def test_a_malformed_waiver_id_is_the_api_json_404(dave):
    response = dave.get("/api/v1/waivers/1.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_an_out_of_range_offset_is_a_bad_request(demo):
    from org.tokens import api_token_for

    client = APIClient(raise_request_exception=False)  # a 500, as the server would answer
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['dave'])}")
    response = client.get("/api/v1/audit-events/", {"since": "2000-01-01T00:00:00+16:00"})
    assert response.status_code == 200
    overflow = client.get("/api/v1/audit-events/", {"since": "0001-01-01T00:00:00+01:00"})
    assert overflow.status_code == 400
    assert overflow.json()["errors"][0]["field"] == "since"


def test_an_invalid_cursor_gets_a_documented_answer(dave):
    response = dave.get("/api/v1/audit-events/", {"cursor": "not-a-cursor"})
    assert str(response.status_code) in documented(dave, "get", "/api/v1/audit-events/")


def test_unknown_api_urls_answer_in_the_error_shape(dave):
    response = dave.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


# --- Found against the production stack (gunicorn, Celery, PostgreSQL, Redis) ----------------


@pytest.mark.parametrize("hours", ["1e8", "1e308", "9223372036854775808", "9" * 400])
@pytest.mark.parametrize("field", ["duration_hours", "observation_window_hours"])
def test_hours_no_calendar_holds_are_refused(dave, proposal_body, hours, field):
    """A 1e8-hour stage was stored and, once started, made the dashboard a 500 for everyone."""
    wedge = proposal_body["rollout_wedge"]
    (wedge["wedge_stages"][0] if field == "duration_hours" else wedge)[field] = 4242
    text = json.dumps(proposal_body).replace("4242", hours)
    dry_run = dave.post("/api/v1/proposals/validate/", text, content_type="application/json")
    assert dry_run.json()["valid"] is False
    submitted = dave.post("/api/v1/proposals/", text, content_type="application/json")
    assert submitted.status_code == 400
    assert any(field in (e["field"] or "") for e in submitted.json()["errors"])


def post_text(client: APIClient, url: str, body: str):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def running(demo, submit):
    from wedges.services import wedge_start

    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    return proposal


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_unstorable_keys_are_400_on_every_json_endpoint(dave, running, escape):
    """``{"\\ud800": 1}`` echoed in an error message made the error itself a 500."""
    for url in (
        "/api/v1/proposals/",
        "/api/v1/proposals/validate/",
        "/api/v1/waivers/",
        "/api/v1/webhooks/",
        f"/api/v1/proposals/{running.pk}/metrics/",
        f"/api/v1/proposals/{running.pk}/incidents/",
        f"/api/v1/proposals/{running.pk}/pause/",
    ):
        response = post_text(dave, url, f'{{"{escape}": 1}}')
        assert response.status_code == 400, (url, response.content)
        (problem,) = response.json()["errors"]
        assert problem["code"] == "invalid_characters"
        assert problem["field"] == f'["{escape}"]'  # the key, as ASCII JSON


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("title", "title"),
        ("description", "description"),
        ("external_reference", "external_reference"),
        ("subsystem", "subsystem"),
        ("stage_id", "rollout_wedge.wedge_stages[0].stage_id"),
    ],
)
def test_unstorable_text_in_a_proposal_is_400_in_dry_run_and_submit(
    dave, proposal_body, escape, field, path
):
    """A NUL title passed the dry run (valid: true) and made the submit a 500."""
    text = json.dumps(proposal_body).replace(f'"{field}": "', f'"{field}": "x{escape}', 1)
    for url in ("/api/v1/proposals/validate/", "/api/v1/proposals/"):
        response = post_text(dave, url, text)
        assert response.status_code == 400, response.content
        assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
            (path, "invalid_characters")
        }


def test_a_webhook_event_with_a_lone_surrogate_is_400(dave):
    body = '{"url": "https://deployer.example/h", "secret": "a-long-shared-secret-0123", '
    response = post_text(dave, "/api/v1/webhooks/", body + '"events": ["\\ud800"]}')
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events[0]"


def test_a_token_post_to_an_unknown_api_url_is_the_json_404(demo):
    """Not Django's HTML "CSRF verification failed" page."""
    from org.tokens import api_token_for

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['dave'])}")
    for method in (client.post, client.put, client.delete, client.patch):
        response = method("/api/v1/no-such-endpoint/", {"a": 1}, format="json")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("text", ["\u00b2", "#\u2460", "\u0661\u0662", "9" * 40])
def test_a_search_for_a_digit_that_is_no_number_is_a_search(demo, submit, text):
    """``"²".isdigit()`` is true and ``int("²")`` fails: this was a 500 (schemathesis)."""
    from org.tokens import api_token_for

    submit("alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['dave'])}")
    response = client.get("/api/v1/proposals/", {"q": text})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("host", ["", "evil.example"])
def test_an_api_call_with_a_bad_host_header_gets_the_error_shape(demo, host):
    """Django refuses the Host before any view: JSON under /api/ (schemathesis sent ``Host:``)."""
    from org.tokens import api_token_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['dave'])}")
    for response in (
        client.get("/api/v1/proposals/", HTTP_HOST=host),
        client.post(
            "/api/v1/gates/flagger/rollback/", {"name": "x"}, format="json", HTTP_HOST=host
        ),
    ):
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert response.json()["errors"][0]["code"] == "bad_request"
        assert host == "" or host not in response.content.decode()
    page = Client().get("/accounts/login/", HTTP_HOST=host)
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
