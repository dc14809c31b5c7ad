"""``/reports/governance/``: who sees it, what it shows, the CSV, and its query count."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.governance.conftest import BREACH, HEALTHY, at, utc

pytestmark = pytest.mark.django_db
URL = "/reports/governance/"


def page_of(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def test_sign_in_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/reports/governance/")


@pytest.mark.parametrize("username", ["erin", "dave", "bob", "carol"])
def test_readers_of_everything_see_the_report(client, demo, username):
    assert page_of(client, demo[username], quarter="2026Q4").status_code == 200


@pytest.mark.parametrize("params", [{}, {"quarter": "2026Q4"}, {"format": "csv"}])
def test_engineers_are_refused(client, demo, params):
    assert page_of(client, demo["alice"], **params).status_code == 403


def test_the_current_quarter_is_the_default(client, demo):
    with at(utc(2027, 2, 14, 12)):
        page = page_of(client, demo["erin"]).content.decode()
    assert "<h1>Governance report 2027Q1</h1>" in page
    assert '<option value="2027Q1" selected>' in page
    assert '<option value="2025Q2">' in page  # eight quarters back, newest first
    assert '<option value="2025Q1">' not in page
    assert 'href="?quarter=2026Q4" rel="prev"' in page
    assert 'href="?quarter=2027Q2" rel="next"' in page


def test_a_bad_quarter_is_a_400_that_says_why(client, demo):
    response = page_of(client, demo["erin"], quarter="2026Q5")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert">A year has quarters 1 to 4; got Q5.</p>' in page
    assert '<select id="quarter-picker" name="quarter">' in page  # still a way out


def test_the_page_shows_the_figures_tables_and_charts(client, demo, quarter4):
    w, i = quarter4.waivers, quarter4.incidents
    with at(utc(2027, 1, 5)):
        response = page_of(client, demo["erin"], quarter="2026Q4")
    page = response.content.decode()
    assert "<h1>Governance report 2026Q4</h1>" in page
    assert '<option value="2026Q4" selected>' in page
    assert "<small>Proposals submitted</small><p>6</p>" in page
    assert "<small>Wedges rolled back</small><p>3</p><small>2 automatic, 1 by operators" in page
    assert "<small>Evidence to deployer told, p99</small><p>1 min 01 s</p>" in page
    assert "<small>Rollbacks told within 60 s</small><p>66.7%</p>" in page
    assert "<small>Incidents contained by a wedge</small><p>2 of 5</p><small>40.0%</small>" in page
    # Incidents and waivers tables, with links to each waiver's page.
    assert len(re.findall(r'<tr id="incident-\d+">', page)) == 5
    assert f'<tr id="incident-{i["I5"].pk}">' not in page
    for waiver in w.values():
        assert f'<a href="/waivers/{waiver.pk}/">Waiver #{waiver.pk}</a>' in page
    # The two charts draw from the page's own data; every script is local.
    charts = json.loads(
        re.search(r'<script id="report-charts" type="application/json">(.*?)</script>', page)[1]
    )
    assert charts["outcomes"] == {
        "labels": ["Completed", "Paused", "Rolled back"],
        "values": [1, 2, 3],
    }
    assert charts["exposure"]["values"] == [2, 1, 0, 0, 0, 0]
    assert 'id="outcomes-chart" role="img"' in page
    assert 'id="exposure-chart" role="img"' in page
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert "/static/governance/report_charts.js" in sources
    assert all(source.startswith("/static/") for source in sources)
    assert 'href="?quarter=2026Q4&amp;format=csv"' in page


def test_csv_export(client, demo, quarter4):
    response = page_of(client, demo["carol"], quarter="2026Q4", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="governance-2026Q4.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    summary = {row["item"]: row["value"] for row in rows if row["section"] == "summary"}
    assert summary["wedges.rolled_back"] == "3"
    assert summary["waivers.granted"] == "1"
    assert [row["section"] for row in rows].count("incident") == 5


def test_csv_neutralises_formulas_in_typed_text(client, demo, builder):
    proposal = builder.submit(utc(2026, 10, 2))
    with at(utc(2026, 10, 3)):
        from governance.services import incident_record

        incident_record(
            proposal=proposal,
            reported_by=demo["dave"],
            occurred_at=utc(2026, 10, 2, 12),
            severity="SEV4",
            affected_percentage=1,
            summary="=HYPERLINK('http://evil')",
        )
    body = page_of(client, demo["erin"], quarter="2026Q4", format="csv").content.decode()
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["section"] == "incident")
    assert "=HYPERLINK" in row["detail"]
    assert not row["detail"].startswith("=")


def _more_data(builder, demo, start):
    """Another proposal rolled back with an incident, and a waiver rejected."""
    from governance.services import incident_record
    from waivers import services as waiver_services

    proposal = builder.submit(start)
    builder.start(proposal, start)
    builder.snapshot(proposal, HEALTHY, start + dt.timedelta(hours=1))
    builder.snapshot(proposal, BREACH, start + dt.timedelta(hours=1, minutes=5))
    with at(start + dt.timedelta(hours=2)):
        incident_record(
            proposal=proposal.__class__.objects.get(pk=proposal.pk),
            reported_by=demo["bob"],
            occurred_at=start + dt.timedelta(hours=1, minutes=1),
            severity="SEV2",
            affected_percentage="4.5",
            summary="latency",
        )
    waiver = builder.standing_waiver(start + dt.timedelta(hours=3), "control_plane")
    with at(start + dt.timedelta(hours=4)):
        waiver_services.waiver_reject(waiver=waiver, approver=demo["carol"], reason="no")


def test_the_page_reads_in_a_constant_number_of_queries(client, demo, quarter4, builder):
    client.force_login(demo["erin"])
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"quarter": "2026Q4"}).status_code == 200
    for day in range(1, 6):
        _more_data(builder, demo, utc(2026, 12, day, 9))
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL, {"quarter": "2026Q4"})
    assert response.content.decode().count('<tr id="incident-') == 10
    assert len(many.captured_queries) == len(few.captured_queries)
