"""Defects the fuzzer found, now fixed: each stays as a regression test."""

from __future__ import annotations

import json
from typing import Any

import pytest
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
