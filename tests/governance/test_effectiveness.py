"""Effectiveness per quarter and its four-quarter trend, on the known quarter (conftest)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command

from governance.effectiveness import effectiveness, trend
from governance.report import governance_report
from tests.documents import PROPOSAL
from tests.governance.conftest import HEALTHY, at, utc
from waivers import services as waiver_services

pytestmark = pytest.mark.django_db


def test_the_quarter_in_figures(quarter4):
    report = governance_report("2026Q4")
    figures = effectiveness(report)
    # I6 (never started: 0 %), I3 (P1 complete), I1 and I2 (P2 at 10 %), I4 (P4 at 5 %).
    assert (figures.incidents, figures.incidents_wedged, figures.incidents_waived) == (5, 5, 0)
    assert figures.exposure_at_detection[0] == 0.0
    assert figures.exposure_at_detection[2:] == (10.0, 10.0, 5.0)
    # P2 rolled back at 10:30: 10 min after I1 (10:20) and 5 min after I2 (10:25).
    assert figures.minutes_to_rollback == (10.0, 5.0)
    assert figures.mean_minutes_to_rollback == 7.5
    assert (figures.contained, figures.contained_share) == (2, pytest.approx(0.4))
    assert figures.slo_compliance == pytest.approx(2 / 3)
    # W1 (a standing policy_update waiver) was granted and covered no proposal.
    assert (figures.waivers.granted, figures.waivers.proposals) == (1, 0)


def test_the_trend_is_four_quarters_oldest_first(quarter4):
    figures = trend(governance_report("2027Q1"))
    assert [f.quarter.label for f in figures] == ["2026Q2", "2026Q3", "2026Q4", "2027Q1"]
    assert [f.incidents for f in figures] == [0, 0, 5, 1]
    assert figures[0].contained_share is None
    assert figures[0].mean_exposure_at_detection is None


@pytest.fixture
def waived(demo, submit):
    """A single-stage change (rule 1 waived) that caused an incident, in 2026Q4."""
    stage = {**PROPOSAL["rollout_wedge"]["wedge_stages"][0], "target_percentage": 20}
    with at(utc(2026, 11, 1, 8)):
        proposal = submit(
            "alice",
            rollout_wedge={"wedge_stages": [stage]},
            title="Single-stage fix",
        )
        waiver = waiver_services.waiver_request(
            requester=demo["alice"], rationale="One flag.", duration_days=7, proposal=proposal
        )
    with at(utc(2026, 11, 1, 9)):
        waiver_services.waiver_approve(waiver=waiver, approver=demo["bob"])
        waiver_services.waiver_approve(waiver=waiver, approver=demo["carol"])
    from wedges.services import rollout

    with at(utc(2026, 11, 1, 10)):
        rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    with at(utc(2026, 11, 1, 11)):
        rollout.wedge_record_snapshot(proposal_id=proposal.pk, metrics=HEALTHY, actor=demo["alice"])
    return proposal


def test_an_incident_of_a_waived_change_counts_as_waived(builder, waived):
    builder.incident(waived, utc(2026, 11, 1, 10, 30), "SEV2", "15", recorded_at=utc(2026, 11, 2))
    figures = effectiveness(governance_report("2026Q4", now=utc(2026, 12, 1)))
    assert (figures.incidents_wedged, figures.incidents_waived) == (0, 1)
    assert figures.waivers.granted == 1
    assert figures.waivers.proposals == 1
    assert figures.waivers.with_incident == 1


def run(*args):
    out = io.StringIO()
    call_command("governance_report", *args, stdout=out)
    return out.getvalue()


def test_json_and_csv_carry_the_trend_and_the_slo(quarter4):
    data = json.loads(run("--quarter", "2026Q4", "--format", "json"))
    assert [q["quarter"] for q in data["trends"]] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert data["effectiveness"] == data["trends"][-1]
    assert data["effectiveness"]["incidents_during_wedged_rollouts"] == 5
    assert data["effectiveness"]["mean_minutes_to_rollback"] == 7.5
    assert data["effectiveness"]["rollback_slo_compliance"] == pytest.approx(2 / 3)
    assert data["rollback_slo"]["compliance"] == pytest.approx(2 / 3)
    rows = list(csv.DictReader(io.StringIO(run("--quarter", "2026Q4", "--format", "csv"))))
    trend_rows = {row["item"]: row["value"] for row in rows if row["section"] == "trend"}
    assert trend_rows["2026Q4.contained"] == "2"
    assert trend_rows["2026Q4.waivers.granted"] == "1"
    assert trend_rows["2026Q1.incidents"] == "0"


def test_the_page_shows_the_trend_table_and_chart_data(client, demo, quarter4):
    with at(utc(2027, 1, 5)):
        client.force_login(demo["erin"])
        page = client.get("/reports/governance/", {"quarter": "2026Q4"}).content.decode()
    assert "Do the wedges work? The last four quarters" in page
    assert '<script id="trend-charts" type="application/json">' in page
    assert "7 min 30 s" in page  # mean time to rollback in 2026Q4
    assert "governance/trend_charts.js" in page
    assert 'media="print"' in page
    chart = json.loads(
        page.split('<script id="trend-charts" type="application/json">')[1].split("</script>")[0]
    )
    assert chart["labels"] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert chart["wedged"] == [0, 0, 0, 5]
    assert chart["contained"][-1] == 40.0


def test_exposure_at_detection_reads_the_step_held_then(quarter4):
    figures = effectiveness(governance_report("2027Q1"))
    # I5 at Q1's first instant on P3, rolled back at 5 % on 2026-11-01: the rollback's 0 %.
    assert figures.exposure_at_detection == (0.0,)
