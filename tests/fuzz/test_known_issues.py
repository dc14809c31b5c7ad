"""Defects the fuzzer found in APIs this suite does not own, each pinned down.

Each test states the correct behaviour and is a strict xfail: when the owner
fixes the defect the test passes, strict mode turns that into a failure, and
the test and its ``KNOWN_ISSUES`` entry in ``test_schemathesis.py`` are
deleted together.
"""

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


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="waivers/api.py: list responses lack 404 (page past end)",
)
def test_waiver_list_documents_its_404(dave):
    assert dave.get("/api/v1/waivers/?page=99").status_code == 404
    assert "404" in documented(dave, "get", "/api/v1/waivers/")


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason='waivers/api.py: WaiverViewSet needs lookup_value_regex = "[^/]+" (HTML 404 now)',
)
def test_a_malformed_waiver_id_is_the_api_json_404(dave):
    response = dave.get("/api/v1/waivers/1.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="audit/filters.py: since/until with a UTC offset beyond +/-15:59 reach PostgreSQL "
    "(500); convert to UTC in IsoDateTimeOrDateField and answer 400 on overflow",
)
def test_an_out_of_range_offset_is_a_bad_request(demo):
    from org.tokens import api_token_for

    client = APIClient(raise_request_exception=False)  # a 500, as the server would answer
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['dave'])}")
    response = client.get("/api/v1/audit-events/", {"since": "2000-01-01T00:00:00+16:00"})
    assert response.status_code in (200, 400)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="audit/api.py: an invalid cursor answers 404, which is not documented",
)
def test_an_invalid_cursor_gets_a_documented_answer(dave):
    response = dave.get("/api/v1/audit-events/", {"cursor": "not-a-cursor"})
    assert str(response.status_code) in documented(dave, "get", "/api/v1/audit-events/")
