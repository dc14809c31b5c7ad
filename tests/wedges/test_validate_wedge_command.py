import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        call_command("validate_wedge", *args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_valid_wedge_exits_0(tmp_path, capsys, proposal_body):
    path = tmp_path / "wedge.json"
    path.write_text(json.dumps(proposal_body["rollout_wedge"]))
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert "valid; planned total duration 6 h" in out


def test_invalid_wedge_exits_1_with_every_error(tmp_path, capsys, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["observation_window_hours"] = 0.5
    wedge["wedge_stages"][0]["target_percentage"] = 25.5
    path = tmp_path / "wedge.json"
    path.write_text(json.dumps(wedge))
    code, out, _ = run(capsys, str(path))
    assert code == 1
    assert "rollout_wedge.observation_window_hours" in out
    assert "[observation_window_too_short]" in out
    assert "rollout_wedge.wedge_stages[0].target_percentage" in out
    assert "invalid: 2 error(s)" in out


def test_text_no_submission_could_store_exits_1(tmp_path, capsys, demo, proposal_body):
    proposal_body["title"] = "Pool\x00 connections"
    proposal_body["rollout_wedge"]["wedge_stages"][1]["stage_id"] = "half\ud800"
    proposal_body["rollout_wedge"]["wedge_stages"][2]["duration_hours"] = 1e8
    path = tmp_path / "proposal.json"
    path.write_text(json.dumps(proposal_body))  # ASCII: "\u0000", "\ud800"
    code, out, _ = run(capsys, str(path), "--json")
    assert code == 1
    assert {(e["field"], e["code"]) for e in json.loads(out)["errors"]} == {
        ("title", "invalid_characters"),
        ("rollout_wedge.wedge_stages[1].stage_id", "invalid_characters"),
        ("rollout_wedge.wedge_stages[2].duration_hours", "duration_too_long"),
    }
    code, out, _ = run(capsys, str(path))
    assert code == 1
    out.encode()  # printable as UTF-8


def test_subsystem_option_applies_the_critical_cap(tmp_path, capsys, demo, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["initial_percentage"] = 10
    path = tmp_path / "wedge.json"
    path.write_text(json.dumps(wedge))
    assert run(capsys, str(path), "--subsystem", "control-plane")[0] == 0
    wedge["initial_percentage"] = 10.01
    path.write_text(json.dumps(wedge))
    code, out, _ = run(capsys, str(path), "--subsystem", "control-plane")
    assert code == 1
    assert "initial_above_critical_cap" in out


def test_whole_proposal_file_and_json_output(tmp_path, capsys, demo, proposal_body):
    path = tmp_path / "proposal.json"
    path.write_text(json.dumps(proposal_body))
    code, out, _ = run(capsys, str(path), "--json")
    assert code == 0
    assert json.loads(out)["valid"] is True


def test_not_json_exits_2(tmp_path, capsys):
    path = tmp_path / "wedge.json"
    path.write_text("{not json")
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert "not a readable JSON file" in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert run(capsys, str(tmp_path / "absent.json"))[0] == 2


def test_works_as_a_ci_step_in_a_fresh_process(tmp_path, proposal_body):
    path = tmp_path / "wedge.json"
    path.write_text(json.dumps(proposal_body["rollout_wedge"]))
    result = subprocess.run(
        [sys.executable, "manage.py", "validate_wedge", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
