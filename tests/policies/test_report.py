"""The quarterly report lists the policy changes of the quarter: proposed, decided, in effect."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from django.core.management import call_command

from governance.exports import report_csv
from governance.report import governance_report
from policies import services

PROPOSED = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
NEW_YEAR = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # Q1 2027's first instant


def _version_two(demo):
    version = services.policy_version_propose(
        actor=demo["bob"],
        values={"first_stage_cap": 20, "pause_after_windows": 2},
        rationale="Tighter first stages.",
        effective_at=NEW_YEAR,
        now=PROPOSED,
    )
    return services.policy_version_approve(
        version=version, actor=demo["frank"], now=PROPOSED + timedelta(hours=2)
    )


def test_the_quarter_lists_who_proposed_approved_and_what_changed(demo):
    _version_two(demo)
    (change,) = governance_report("2026Q4").policy_changes
    assert (change.number, change.status, change.proposed_by, change.decided_by) == (
        2,
        "Approved",
        "bob",
        "frank",
    )
    assert change.changes == (
        "First stage cap: 25 → 20 %",
        "Pause a stuck stage after: 3 → 2 observation windows",
    )
    assert change.effective_at == NEW_YEAR
    # It takes effect at Q1's first instant: listed there too; not in Q3.
    assert [c.number for c in governance_report("2027Q1").policy_changes] == [2]
    assert governance_report("2026Q3").policy_changes == ()


def test_the_json_and_csv_carry_the_policy_changes(demo):
    _version_two(demo)
    out = io.StringIO()
    call_command("governance_report", "--quarter", "2026Q4", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    (change,) = data["policy_changes"]
    assert change["version"] == 2
    assert change["proposed_by"] == "bob"
    assert change["decided_by"] == "frank"
    assert change["effective_at"].startswith("2027-01-01T00:00:00")
    assert change["changes"][0] == "First stage cap: 25 → 20 %"
    csv_text = report_csv(governance_report("2026Q4"))
    assert "policy_change,version 2,First stage cap: 25 → 20 %" in csv_text
    assert "proposed by bob; approved by frank" in csv_text


def test_the_report_page_lists_the_change(demo, client):
    _version_two(demo)
    client.force_login(demo["erin"])
    page = client.get("/reports/governance/", {"quarter": "2026Q4"}).content.decode()
    assert "Policy changes" in page
    assert "Version 2</a> (approved)" in page
    assert "First stage cap: 25 → 20 %" in page
    assert "Approved by frank" in page
    quiet = client.get("/reports/governance/", {"quarter": "2026Q3"}).content.decode()
    assert "No policy changes this quarter" in quiet
