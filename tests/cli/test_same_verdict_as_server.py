"""The CLI's offline verdict is the server's, over the suite's validation documents.

Every document of the policy's rule tests (each rule at its edges, failing and
passing: ``tests/wedges/policy/test_validation_rules.py``), of the API/form/
command agreement test (``tests/wedges/test_same_verdict.py``) and a few
envelope cases is judged four ways — the server's dry run with a JSON body and
with a YAML body, ``wedge validate`` on a JSON file and on a YAML file — and
all four must give the same ``valid``, the same errors and warnings (path,
code and message, in order) and the same planned total duration. A document
the server will not even parse (``NaN``) must be one the CLI cannot read
(exit 2). Criticality, which the server takes from the subsystem, is
``--subsystem-critical`` for the CLI.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from ruamel.yaml import YAML

from providers.models import MetricProvider
from tests.documents import PROPOSAL
from tests.wedges.policy.conftest import build_document
from tests.wedges.policy.test_validation_rules import FAILING_CASES, PASSING_CASES
from tests.wedges.test_same_verdict import DOCUMENTS
from wedges.policy import ValidationContext

from .conftest import run

pytestmark = pytest.mark.django_db
VALIDATE = "/api/v1/proposals/validate/"
SERVER_DEFAULT = ValidationContext()
CRITICAL = ValidationContext(subsystem_critical=True)
SERVER_PROVIDER = "p"


def envelope(wedge: Any, *, critical: bool) -> dict[str, Any]:
    body = {key: value for key, value in PROPOSAL.items() if key != "rollout_wedge"}
    body["subsystem"] = "control-plane" if critical else "connector-runtime"
    body["rollout_wedge"] = wedge
    return body


def rule_documents() -> list[tuple[str, dict[str, Any], bool]]:
    """(name, proposal, critical) for each rule case whose context the server can have."""
    documents = []
    for param in [*FAILING_CASES, *PASSING_CASES]:
        mutation, context = param.values[0], param.values[1]
        if context not in (SERVER_DEFAULT, CRITICAL):
            continue  # a lowered max_stage_hours or a re-validation: not a submission
        wedge = build_document()
        mutation(wedge)
        critical = context.subsystem_critical
        documents.append((f"rule: {param.id}", envelope(wedge, critical=critical), critical))
    return documents


def envelope_documents() -> list[tuple[str, dict[str, Any], bool]]:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("envelope: unknown key", {**PROPOSAL, "titel": "x"}),
        ("envelope: no title", {k: v for k, v in PROPOSAL.items() if k != "title"}),
        ("envelope: blank title", {**PROPOSAL, "title": "   "}),
        ("envelope: long title", {**PROPOSAL, "title": "x" * 201}),
        ("envelope: change type", {**PROPOSAL, "change_type": "hotfix"}),
        ("envelope: subsystem a number", {**PROPOSAL, "subsystem": 7}),
        ("envelope: NUL in the title", {**PROPOSAL, "title": "a\x00b"}),
        ("envelope: not an object", [PROPOSAL]),  # type: ignore[list-item]
        ("envelope: no wedge", {k: v for k, v in PROPOSAL.items() if k != "rollout_wedge"}),
        ("envelope: wedge not an object", {**PROPOSAL, "rollout_wedge": "linear"}),
    ]
    return [(name, copy.deepcopy(document), False) for name, document in cases]


def suite_documents() -> list[tuple[str, dict[str, Any], bool]]:
    return [
        (f"agreement: {name}", body, body["subsystem"] == "control-plane")
        for name, body in DOCUMENTS.items()
    ]


def as_yaml(document: Any) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, out)
    return out.getvalue()


def issues(items: list[dict[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple((item["field"], item["code"], item["message"]) for item in items)


def server_verdict(client, text: str, content_type: str) -> tuple[Any, ...]:
    response = client.post(VALIDATE, data=text.encode(), content_type=content_type)
    body = response.json()
    if response.status_code == 400:  # refused by the parser: unreadable, or unstorable text
        if any(error["code"] == "parse_error" for error in body["errors"]):
            return ("unreadable",)
        return ("verdict", False, issues(body["errors"]), (), None)
    assert response.status_code == 200, body
    return (
        "verdict",
        body["valid"],
        issues(body["errors"]),
        issues(body["warnings"]),
        body["total_duration_hours"],
    )


def cli_verdict(path, critical: bool) -> tuple[Any, ...]:
    result = run(
        "validate",
        path,
        "--format",
        "json",
        "--provider",
        SERVER_PROVIDER,
        *(["--subsystem-critical"] * critical),
    )
    if result.code == 2:
        return ("unreadable",)
    body = result.json()
    assert result.code == (0 if body["valid"] else 1)
    return (
        "verdict",
        body["valid"],
        issues(body["errors"]),
        issues(body["warnings"]),
        body["total_duration_hours"],
    )


def test_the_cli_and_the_server_agree_on_every_document(token_client, tmp_path):
    # The provider the rule documents' metric_queries name, known to both.
    MetricProvider.objects.create(name=SERVER_PROVIDER, base_url="http://prometheus.test:9090")
    client = token_client("alice")
    documents = rule_documents() + suite_documents() + envelope_documents()
    mismatches = []
    outcomes = set()
    for number, (name, document, critical) in enumerate(documents):
        as_json = json.dumps(document)
        json_file = tmp_path / f"{number}.json"
        json_file.write_text(as_json)
        verdicts = {
            "server, JSON": server_verdict(client, as_json, "application/json"),
            "cli, JSON": cli_verdict(json_file, critical),
        }
        if verdicts["server, JSON"] != ("unreadable",):
            yaml_text = as_yaml(document)
            yaml_file = tmp_path / f"{number}.yaml"
            yaml_file.write_text(yaml_text)
            verdicts["server, YAML"] = server_verdict(client, yaml_text, "application/yaml")
            verdicts["cli, YAML"] = cli_verdict(yaml_file, critical)
        if len(set(verdicts.values())) != 1:
            mismatches.append((name, verdicts))
        reference = verdicts["server, JSON"]
        outcomes.add("unreadable" if reference[0] == "unreadable" else reference[1])
    assert mismatches == []
    # Not a vacuous pass: every kind of outcome was compared, over many documents.
    assert len(documents) > 100
    assert outcomes == {True, False, "unreadable"}
