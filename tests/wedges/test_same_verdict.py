"""The API, the web form and the command give the same verdict on a document."""

import copy
import json

import pytest
from django.core.management import call_command

from tests.documents import PROPOSAL

from .form_data import form_data

pytestmark = pytest.mark.django_db


def variant(**wedge_changes):
    body = copy.deepcopy(PROPOSAL)
    stages = wedge_changes.pop("stages", {})
    body["rollout_wedge"].update(wedge_changes)
    for index, changes in stages.items():
        body["rollout_wedge"]["wedge_stages"][index].update(changes)
    return body


DOCUMENTS = {
    "valid": variant(),
    "window 0.99": variant(observation_window_hours=0.99),
    "window 1.0": variant(observation_window_hours=1.0),
    "first stage 25.5": variant(stages={0: {"target_percentage": 25.5}}),
    "first stage 25": variant(stages={0: {"target_percentage": 25}}),
    "equal adjacent targets": variant(stages={1: {"target_percentage": 10}}),
    "broken criterion": variant(stages={2: {"success_criteria": ["p99 <= 200 parsecs"]}}),
    "text in a number": variant(max_blast_radius="ninety"),
    "blast below stage": variant(max_blast_radius=60),
    "critical 10.01": {**variant(initial_percentage=10.01), "subsystem": "control-plane"},
    "critical 10": {**variant(initial_percentage=10), "subsystem": "control-plane"},
}


def verdict_from_errors(errors):
    return sorted((e["field"], e["code"]) for e in errors)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_api_form_and_command_agree(name, token_client, client, demo, tmp_path, capsys):
    body = DOCUMENTS[name]
    api = token_client("alice").post("/api/v1/proposals/validate/", body, format="json").json()

    client.force_login(demo["alice"])
    form_check = client.post("/proposals/new/validate/", form_data(body)).context["check"]

    path = tmp_path / "proposal.json"
    path.write_text(json.dumps(body))
    with pytest.raises(SystemExit) as exit_info:
        call_command("validate_wedge", str(path), "--json")
    command = json.loads(capsys.readouterr().out)

    api_verdict = verdict_from_errors(api["errors"])
    assert verdict_from_errors(command["errors"]) == api_verdict
    assert sorted((i.path, i.code) for i in form_check.errors) == api_verdict
    assert api["valid"] is command["valid"] is form_check.valid
    assert (exit_info.value.code == 0) is api["valid"]
    assert sorted(w.code for w in form_check.warnings) == sorted(w["code"] for w in api["warnings"])
