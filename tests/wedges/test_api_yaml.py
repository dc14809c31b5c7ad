"""Submitting and dry-running YAML documents: the JSON verdict, paths and refusals."""

import json

import pytest
from ruamel.yaml import YAML

from wedges.models import ChangeProposal

pytestmark = pytest.mark.django_db
VALIDATE = "/api/v1/proposals/validate/"
SUBMIT = "/api/v1/proposals/"


def as_yaml(document) -> str:
    import io

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, out)
    return out.getvalue()


def post(client, url, text, content_type="application/yaml", **headers):
    return client.post(url, data=text.encode(), content_type=content_type, **headers)


@pytest.mark.parametrize("content_type", ["application/yaml", "application/x-yaml", "text/yaml"])
def test_a_yaml_dry_run_answers_as_the_json_one(token_client, proposal_body, content_type):
    wedge = proposal_body["rollout_wedge"]
    wedge["wedge_stages"][1]["target_percentage"] = 5
    wedge["observation_window_hours"] = 2
    client = token_client("alice")
    from_json = client.post(VALIDATE, proposal_body, format="json").json()
    response = post(client, VALIDATE, as_yaml(proposal_body), content_type)
    assert response.status_code == 200
    assert response.json() == from_json
    assert from_json["valid"] is False
    assert ("rollout_wedge.wedge_stages[1].target_percentage", "targets_not_increasing") in {
        (e["field"], e["code"]) for e in from_json["errors"]
    }


def test_a_yaml_submission_is_stored_like_a_json_one(token_client, proposal_body):
    response = post(token_client("alice"), SUBMIT, as_yaml(proposal_body))
    assert response.status_code == 201, response.content
    proposal = ChangeProposal.objects.get(pk=response.json()["id"])
    assert proposal.title == proposal_body["title"]
    assert [s.stage_id for s in proposal.rollout_wedge.stages.order_by("position")] == [
        "canary",
        "half",
        "full",
    ]


def test_a_yaml_submission_with_errors_is_a_400_with_their_paths(token_client, proposal_body):
    proposal_body["rollout_wedge"]["increment_policy"] = "lineal"
    response = post(token_client("alice"), SUBMIT, as_yaml(proposal_body))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "rollout_wedge.increment_policy"
    assert error["code"] == "increment_policy_invalid"
    assert ChangeProposal.objects.count() == 0


YES_NO = """\
title: Norway
change_type: connector_deployment
subsystem: connector-runtime
rollout_wedge:
  initial_percentage: 5
  increment_policy: linear
  max_blast_radius: yes
  observation_window_hours: 1
  wedge_stages:
    - {stage_id: no, target_percentage: 10, duration_hours: 1,
       success_criteria: [error_rate < 0.01], rollback_trigger: error_rate > 0.05}
    - {stage_id: on, target_percentage: 20, duration_hours: 1,
       success_criteria: [error_rate < 0.01], rollback_trigger: error_rate > 0.05}
"""


def test_yes_no_and_on_are_text_as_in_yaml_1_2(token_client):
    body = post(token_client("alice"), VALIDATE, YES_NO).json()
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("rollout_wedge.max_blast_radius", "wrong_type"),
    ]
    assert "must be a number, not a string" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: &x 1\nb: *x\n", "anchors (&x) are not accepted"),
        ("a: *x\n", "aliases (*x) are not accepted"),
        ("title: a\ntitle: b\n", "duplicate key 'title' (first at line 1)"),
        ("a: !!python/object:os.system x\n", "explicit tags"),
        ("%YAML 1.1\n---\na: yes\n", "%YAML 1.1 is not accepted"),
        ("<<: {title: x}\n", "merge keys"),
        ("a: .nan\n", ".nan is not accepted"),
        ("a: 2026-01-05\n", "reads as a date"),
        ("1: x\n", "a key must be text"),
        ("a: 1\n---\nb: 2\n", "one YAML document"),
        ("a: [1,\n", "not valid YAML"),
        ("# nothing\n", "empty"),
        ("a:" + " [" * 40 + "]" * 40 + "\n", "nested deeper than 32"),
    ],
)
def test_what_the_yaml_profile_refuses_is_a_parse_error_naming_the_line(token_client, text, says):
    response = post(token_client("alice"), VALIDATE, text)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "parse_error"
    assert error["field"] is None
    assert says in error["message"]


def test_a_billion_laughs_is_refused_before_anything_is_built(token_client):
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    response = post(token_client("alice"), VALIDATE, lol)
    assert response.status_code == 400
    assert "anchors (&a)" in response.json()["errors"][0]["message"]


def test_nul_and_surrogates_are_refused_at_their_paths(token_client):
    text = 'title: "a\\0b"\nrollout_wedge: {wedge_stages: [{stage_id: "\\ud800"}]}\n'
    response = post(token_client("alice"), VALIDATE, text)
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("title", "invalid_characters"),
        ("rollout_wedge.wedge_stages[0].stage_id", "invalid_characters"),
    ]


def test_a_yaml_body_is_held_to_64_kib(token_client, proposal_body):
    client = token_client("alice")
    proposal_body["description"] = "x" * (64 * 1024)
    refused = post(client, VALIDATE, as_yaml(proposal_body))
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["code"] == "body_too_large"
    assert "larger than 65536 bytes (the limit for YAML; JSON may be larger)" in error["message"]
    as_json = client.post(VALIDATE, proposal_body, format="json")
    assert as_json.status_code == 200  # within WEDGE_MAX_BODY_BYTES
    assert as_json.json()["errors"][0]["code"] == "too_long"  # the description's own limit


def test_size_limit_and_encoding(token_client, settings):
    client = token_client("alice")
    too_big = "title: " + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + "\n"
    response = post(client, VALIDATE, too_big)
    assert response.status_code in (400, 413)
    assert response.json()["errors"][0]["code"] in ("body_too_large", "request_too_large")
    latin1 = client.post(VALIDATE, data="title: café".encode("latin-1"), content_type="text/yaml")
    assert latin1.status_code == 400
    assert "not UTF-8" in latin1.json()["errors"][0]["message"]


def test_yaml_is_only_for_documents(token_client, submit, demo):
    proposal = submit()
    response = post(token_client("dave"), f"{SUBMIT}{proposal.pk}/start/", "reason: go\n")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"


def test_the_schema_lists_yaml_for_submit_and_the_dry_run(token_client):
    schema = json.loads(token_client("alice").get("/api/v1/schema/?format=json").content)
    for path in ("/api/v1/proposals/", "/api/v1/proposals/validate/"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        assert {"application/json", "application/yaml"} <= set(content)
    start = schema["paths"]["/api/v1/proposals/{id}/start/"]["post"]["requestBody"]["content"]
    assert "application/yaml" not in start
