"""Calls a gate cannot answer: a clear 4xx in the API's error shape, never a 500, audited.

Flagger counts any of them as "not passed" (and its rollback hook as "no
rollback"), so a misconfigured gate holds a rollout; it never advances one.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from org.tokens import token_issue
from tests.gates.conftest import T0, at, payload, start

pytestmark = pytest.mark.django_db
URL = "/api/v1/gates/flagger/confirm-rollout/"


def post(body, *, query="", content_type="application/json"):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    with at(T0):
        return APIClient().post(URL + query, raw, content_type=content_type)


def refusals():
    return list(AuditEvent.objects.filter(code="WDG-704").order_by("id"))


@pytest.fixture
def running(demo, canary_proposal):
    proposal = canary_proposal()
    start(demo, proposal)
    return proposal


def test_malformed_json_with_a_token_in_the_query(agent_key, running):
    response = post('{"name": "podinfo", ', query=f"?token={agent_key}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"
    (event,) = refusals()
    assert event.actor.username == "pipeline"
    assert event.data["code"] == "parse_error"
    assert event.data["status"] == 400
    assert event.data["gate"] == "confirm-rollout"
    assert event.data["tool"] == "flagger"


def test_malformed_json_without_a_token_is_refused_and_audited_anonymously(demo):
    response = post(b"\xff\xfe not json")
    assert response.status_code == 400
    (event,) = refusals()
    assert event.actor is None
    assert event.actor_label == "anonymous"
    assert event.data["remote_addr"] == "127.0.0.1"


def test_a_bad_token_is_401_and_never_echoed_or_recorded(demo, running):
    secret = "wdg_this-key-does-not-exist-0123456789abcdefghijk"
    response = post(payload(token=secret))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"
    assert secret not in response.content.decode()
    (event,) = refusals()
    assert event.data["code"] == "authentication_failed"
    assert secret not in json.dumps(event.data) + event.reason
    assert "canary" not in event.data  # nothing an anonymous caller sent is kept


def test_no_token_at_all_is_401(demo, running):
    response = post(payload())
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert refusals()[0].data["code"] == "not_authenticated"


def test_an_unknown_canary_is_404_naming_what_to_do(agent_key, running):
    response = post(payload(name="frontend", token=agent_key, cluster="eu-west-1"))
    assert response.status_code == 404
    problem = response.json()["errors"][0]
    assert problem["code"] == "unknown_canary"
    assert "external_reference 'test/frontend'" in problem["message"]
    (event,) = refusals()
    assert event.actor.username == "pipeline"
    assert event.data["canary"] == "test/frontend"
    assert event.data["cluster"] == "eu-west-1"


def test_a_proposal_outside_the_tokens_subsystems_is_unknown(demo, submit):
    from org.models import Subsystem

    other = submit("alice", subsystem="control-plane", external_reference="test/podinfo")
    start(demo, other)
    issued = token_issue(
        owner=demo["pipeline"],
        actor=demo["admin"],
        name="gates",
        scopes=["desired-state:read"],
        subsystems=[Subsystem.objects.get(slug="connector-runtime")],
    )
    response = post(payload(token=issued.key, proposal=str(other.pk)))
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "unknown_canary"


def test_a_token_without_the_scope_is_403(demo, running):
    issued = token_issue(
        owner=demo["pipeline"], actor=demo["admin"], name="metrics only", scopes=["metrics:write"]
    )
    response = post(payload(token=issued.key))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "insufficient_scope"
    assert refusals()[0].data["code"] == "insufficient_scope"


def test_every_problem_of_a_payload_at_once_with_its_path(agent_key, running):
    response = post(
        {
            "name": 5,
            "namespace": "Not_A_Namespace",
            "metadata": {"token": agent_key, "proposal": "abc", "cluster": ["x"]},
        }
    )
    assert response.status_code == 400
    problems = {(p["field"], p["code"]) for p in response.json()["errors"]}
    assert problems == {
        ("name", "wrong_type"),
        ("namespace", "invalid_name"),
        ("metadata.proposal", "not_a_proposal_id"),
        ("metadata.cluster", "wrong_type"),
    }


@pytest.mark.parametrize(
    "body",
    [[], "a string", 7, None, {"metadata": "not a map", "name": "x", "namespace": "y"}],
)
def test_other_shapes_are_400s(agent_key, running, body):
    response = post(json.dumps(body), query=f"?token={agent_key}")
    assert response.status_code == 400, response.content


def test_the_same_refusal_is_audited_once_in_ten_minutes(agent_key, running):
    for _ in range(5):
        assert post(payload(name="frontend", token=agent_key)).status_code == 404
    assert len(refusals()) == 1
    # Another canary's refusal is its own.
    post(payload(name="backend", token=agent_key))
    assert len(refusals()) == 2


def test_unknown_gate_types_are_the_apis_404(agent_key):
    with at(T0):
        response = APIClient().post(
            "/api/v1/gates/flagger/confirm-everything/", payload(token=agent_key), format="json"
        )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_a_revoked_token_is_refused(demo, running):
    from org.tokens import token_revoke

    issued = token_issue(
        owner=demo["pipeline"], actor=demo["admin"], name="old", scopes=["desired-state:read"]
    )
    token_revoke(token_id=issued.token.pk, actor=demo["admin"], as_administrator=True)
    response = post(payload(token=issued.key))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "token_revoked"
