"""``wedge validate``: offline, JSON or YAML, exit 0/1/2, text, json and GitHub annotations."""

from __future__ import annotations

import copy
import json

import pytest
from wedge_cli.output import annotation

from tests.documents import PROPOSAL

from .conftest import run

STAGE_1_TARGET_LINE_YAML = """\
title: Connector runtime 2.5
change_type: connector_deployment
subsystem: connector-runtime
rollout_wedge:
  initial_percentage: 5
  increment_policy: linear
  max_blast_radius: 90
  observation_window_hours: 1
  wedge_stages:
    - stage_id: canary
      target_percentage: 10
      duration_hours: 1
      success_criteria: ["error_rate < 0.01"]
      rollback_trigger: error_rate > 0.05
    - stage_id: half
      target_percentage: 5
      duration_hours: 1
      success_criteria: ["error_rate < 0.01"]
      rollback_trigger: error_rate > 0.05
      owner: team-a
"""


def proposal(**wedge_changes):
    body = copy.deepcopy(PROPOSAL)
    body["rollout_wedge"].update(wedge_changes)
    return body


def test_a_valid_proposal_exits_0_with_its_planned_duration(write):
    for name in ("proposal.json", "proposal.yaml"):
        result = run("validate", write(name, PROPOSAL))
        assert result.code == 0, result.err
        assert result.out.strip() == "valid; planned total duration 6 h"
        assert result.err == ""


def test_just_the_wedge_is_enough(write):
    result = run("validate", write("wedge.yaml", PROPOSAL["rollout_wedge"]))
    assert result.code == 0
    assert "valid" in result.out


def test_provider_names_are_checked_only_when_the_server_s_are_named(write):
    queried = proposal(metric_queries={"error_rate": {"provider": "graphite", "query": "up"}})
    path = write("proposal.json", queried)
    assert run("validate", path).code == 0  # offline, the server's providers are unknown
    named = run("validate", path, "--provider", "prometheus", "--format", "json")
    assert named.code == 1
    assert [(e["field"], e["code"]) for e in named.json()["errors"]] == [
        ("rollout_wedge.metric_queries.error_rate.provider", "unknown_provider")
    ]
    from_env = run("validate", path, env={"WEDGE_PROVIDERS": "prometheus thanos"})
    assert from_env.code == 1
    assert "graphite" in from_env.out
    assert run("validate", path, "--provider", "graphite").code == 0


def test_every_error_and_warning_with_file_line_and_column(write):
    path = write("proposal.yaml", STAGE_1_TARGET_LINE_YAML)
    result = run("validate", path)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines == [
        f"{path}:20:7: error: rollout_wedge.wedge_stages[1].owner: unknown field 'owner' "
        "[unknown_key]",
        f"{path}:16:7: error: rollout_wedge.wedge_stages[1].target_percentage: target_percentage "
        "(5) must be greater than the previous stage's (wedge_stages[0]: 10) "
        "[targets_not_increasing]",
        "invalid: 2 errors",
    ]


def test_github_annotations_point_at_the_field_in_yaml(write):
    path = write("proposal.yaml", STAGE_1_TARGET_LINE_YAML)
    result = run("validate", path, "--format", "github")
    assert result.code == 1
    annotations = [line for line in result.out.splitlines() if line.startswith("::")]
    assert annotations[1] == (
        f"::error file={path},line=16,col=7,title=targets_not_increasing::"
        "rollout_wedge.wedge_stages[1].target_percentage: target_percentage (5) must be "
        "greater than the previous stage's (wedge_stages[0]: 10)"
    )
    assert result.out.splitlines()[-1] == "invalid: 2 errors"


def test_github_annotations_point_at_the_field_in_json(write):
    body = proposal(observation_window_hours=0.5)
    body["rollout_wedge"]["wedge_stages"][2]["duration_hours"] = 0.25
    text = json.dumps(body, indent=2)
    path = write("proposal.json", text)
    result = run("validate", path, "--format", "github")
    assert result.code == 1
    window_line = text.splitlines().index('    "observation_window_hours": 0.5,') + 1
    assert result.out.splitlines()[0] == (
        f"::error file={path},line={window_line},col=5,title=observation_window_too_short::"
        "rollout_wedge.observation_window_hours: observation_window_hours must be at least "
        "1.0, got 0.5"
    )


def test_a_missing_field_is_annotated_at_its_parent(write):
    body = copy.deepcopy(PROPOSAL)
    del body["rollout_wedge"]["wedge_stages"][1]["rollback_trigger"]
    text = json.dumps(body, indent=2)
    path = write("proposal.json", text)
    result = run("validate", path, "--format", "github")
    stage_line = [i for i, line in enumerate(text.splitlines(), 1) if '"stage_id": "half"' in line]
    assert f"line={stage_line[0] - 1},col=7,title=stage_field_missing" in result.out


def test_github_escapes_what_would_break_the_command(write):
    body = proposal()
    body["rollout_wedge"]["wedge_stages"][0]["success_criteria"] = ["p99 <= 200 % 3"]
    result = run("validate", write("a,b:c.json", body), "--format", "github")
    assert result.out.splitlines()[0] == (
        "::error file=a%2Cb%3Ac.json,line=14,col=11,title=expression_invalid::"
        "rollout_wedge.wedge_stages[0].success_criteria[0]: success_criteria[0]: "
        "unexpected character '%25' at position 11"
    ).replace(
        "a%2Cb%3Ac.json", str(write("a,b:c.json", body)).replace(",", "%2C").replace(":", "%3A")
    )
    assert annotation("warning", "two\r\nlines 100%", "f.yaml", None, title="t:1") == (
        "::warning file=f.yaml,title=t%3A1::two%0D%0Alines 100%25"
    )


def test_json_output_is_the_server_dry_run_body(write):
    result = run(
        "validate", write("p.json", proposal(increment_policy="lineal")), "--format", "json"
    )
    assert result.code == 1
    body = result.json()
    assert set(body) == {"valid", "errors", "warnings", "total_duration_hours", "waiver_required"}
    assert body["errors"] == [
        {
            "field": "rollout_wedge.increment_policy",
            "code": "increment_policy_invalid",
            "message": "increment_policy must be one of linear, exponential, manual, "
            "not 'lineal'; did you mean 'linear'?",
            "rule": 8,
            "waivable": False,
        }
    ]


def test_subsystem_critical_applies_the_initial_cap(write):
    path = write(
        "p.yaml",
        proposal(initial_percentage=10.01, wedge_stages=PROPOSAL["rollout_wedge"]["wedge_stages"]),
    )
    assert run("validate", path).code == 1  # above stage 1's 10 too
    body = proposal(initial_percentage=10.01)
    body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 20
    path = write("p.yaml", body)
    assert run("validate", path).code == 0
    critical = run("validate", path, "--subsystem-critical")
    assert critical.code == 1
    assert "[initial_above_critical_cap]" in critical.out
    assert "a waiver could lift every one of them" in critical.out


def test_the_envelope_is_checked_offline_too(write):
    body = {**PROPOSAL, "titel": "x", "change_type": "hotfix"}
    del body["title"]
    result = run("validate", write("p.json", body), "--format", "json")
    assert [(e["field"], e["code"]) for e in result.json()["errors"]] == [
        ("titel", "unknown_key"),
        ("title", "required"),
        ("change_type", "invalid_choice"),
    ]


def test_standard_input(write):
    result = run("validate", "-", input=json.dumps(PROPOSAL))
    assert result.code == 0
    result = run("validate", "-", input="rollout_wedge: {}\ntitle: x\n")
    assert result.code == 1
    assert "stdin:1:1: error:" in result.out


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("p.json", "{not json", "p.json: not valid JSON: Expecting property name"),
        ("p.json", '{"a": NaN}', "NaN is not valid JSON"),
        ("p.yaml", "a: &x 1\nb: *x\n", "p.yaml: line 1, column 4: anchors (&x) are not accepted"),
        ("p.yaml", "title: a\ntitle: b\n", "line 2, column 1: duplicate key 'title'"),
        ("p.yaml", "a: [1,\n", "p.yaml: line 2, column 1: not valid YAML"),
        ("p.yaml", "", "the YAML document is empty"),
        ("p.yaml", b"title: caf\xe9\n", "p.yaml: not UTF-8 text"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(write, name, content, says):
    result = run("validate", write(name, content))
    assert result.code == 2
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith("wedge: ")
    assert says in line


def test_a_parse_error_is_annotated_for_github(write):
    path = write("p.yaml", "title: a\ntitle: b\n")
    result = run("validate", path, "--format", "github")
    assert result.code == 2
    assert result.out.startswith(f"::error file={path},line=2,col=1::")


def test_a_missing_file_and_bad_usage_exit_2(tmp_path):
    missing = run("validate", tmp_path / "absent.yaml")
    assert missing.code == 2
    assert (
        missing.err.strip()
        == f"wedge: {tmp_path / 'absent.yaml'}: cannot read: No such file or directory"
    )
    assert run("validate").code == 2
    assert run("validate", "x.yaml", "--format", "xml").code == 2
    assert run("frobnicate").code == 2


def test_text_no_server_could_store_is_refused_at_every_path(write):
    body = copy.deepcopy(PROPOSAL)
    body["title"] = "Pool\x00 connections"
    body["rollout_wedge"]["wedge_stages"][1]["stage_id"] = "half\ud800"
    result = run("validate", write("p.json", json.dumps(body)), "--format", "json")
    assert result.code == 1
    assert [(e["field"], e["code"]) for e in result.json()["errors"]] == [
        ("title", "invalid_characters"),
        ("rollout_wedge.wedge_stages[1].stage_id", "invalid_characters"),
    ]
