"""``manage.py governance_report --quarter 2026Q4 [--format text|json|csv]``."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    out = io.StringIO()
    call_command("governance_report", *args, stdout=out)
    return out.getvalue()


def test_text_is_a_readable_summary(quarter4):
    text = run("--quarter", "2026Q4")
    assert text.startswith("Governance report 2026Q4 (2026-10-01 to 2026-12-31, UTC)\n")
    assert "Proposals submitted: 6\n" in text
    assert (
        "Wedges: started 6, completed 1, paused 2 (2 pauses), rolled back 3 "
        "(automatically 2, by operators 1)\n"
    ) in text
    assert (
        "Rollback SLO (evidence to deployer told, 3 told): p50 60 s, p99 61 s; "
        "within 60 s 2 of 3 (66.7%)\n"
    ) in text
    assert "       ≤ 5 %  2\n" in text
    assert "Incidents: 5 (SEV1 1, SEV2 1, SEV3 2, SEV4 1); contained by a wedge 2 (40.0%)\n" in text
    assert "Waivers: requested 2, granted 1, expired 1, rejected 1, revoked 1\n" in text
    assert "WDG-206  waiver #" in text


def test_json_carries_every_figure(quarter4):
    data = json.loads(run("--quarter", "2026Q4", "--format", "json"))
    assert data["quarter"] == "2026Q4"
    assert (data["start"], data["end"]) == ("2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert data["wedges"]["rolled_back"] == 3
    slo = data["rollback_slo"]
    assert slo["evidence_to_told_seconds"] == {"p50": 60.0, "p99": 61.0}
    assert (slo["within_slo"], slo["missed_slo"], slo["slo_seconds"]) == (2, 1, 60)
    assert slo["compliance"] == pytest.approx(2 / 3)
    assert [r["told_via"] for r in data["rollbacks"]] == [
        "desired_state",
        "webhook",
        "desired_state",
    ]
    assert data["exposure_at_catch"]["values"] == [10.0, 5.0, 5.0]
    assert data["incidents"]["contained_share"] == pytest.approx(0.4)
    assert [item["contained"] for item in data["incidents"]["items"]] == [
        False,
        False,
        True,
        False,
        True,
    ]
    assert data["waivers"]["granted"] == 1
    assert len(data["waivers"]["trail"]) == 8


def test_csv_has_summary_and_detail_rows(quarter4):
    rows = list(csv.DictReader(io.StringIO(run("--quarter", "2026Q4", "--format", "csv"))))
    summary = {row["item"]: row["value"] for row in rows if row["section"] == "summary"}
    assert summary["proposals.submitted"] == "6"
    assert summary["wedges.completed"] == "1"
    assert summary["incidents.by_severity.SEV3"] == "2"
    assert summary["rollback_slo.evidence_to_told_seconds.p50"] == "60.0"
    assert summary["rollback_slo.within_slo"] == "2"
    sections = [row["section"] for row in rows if row["section"] != "summary"]
    assert sections.count("rollback") == 3
    assert sections.count("incident") == 5
    assert sections.count("waiver") == 3
    assert sections.count("waiver_event") == 8


def test_a_bad_quarter_exits_2_with_a_message(db):
    with pytest.raises(CommandError, match="quarters 1 to 4") as raised:
        run("--quarter", "2026Q5")
    assert raised.value.returncode == 2


def test_the_real_command_line_exit_codes():
    """Through ``manage.py``: 2 and a message on stderr for a bad quarter or a missing one."""
    bad = subprocess.run(
        [sys.executable, "manage.py", "governance_report", "--quarter", "26Q1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
    )
    assert bad.returncode == 2
    assert "Give the quarter as YYYYQn" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "manage.py", "governance_report"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
    )
    assert missing.returncode == 2
    assert "--quarter" in missing.stderr
