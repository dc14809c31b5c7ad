"""The quarterly governance report lists the quarter's freezes and what they held."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from freezes.services import freeze_declare, freeze_end
from governance.exports import report_csv, report_dict
from governance.report import governance_report
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_report_lists_the_quarters_freezes_and_the_rollouts_they_held(demo, submit):
    with time_machine.travel(T0 - 48 * HOUR, tick=False):
        running = submit("alice")
        waiting = submit("alice")
        wedge_start(proposal_id=running.pk, actor=demo["dave"])
        holiday = freeze_declare(
            actor=demo["bob"],
            reason="Year-end holiday",
            starts_at=T0,
            ends_at=T0 + 72 * HOUR,
            subsystems=["connector-runtime"],
        )
        cancelled = freeze_declare(
            actor=demo["frank"],
            reason="Audit week",
            starts_at=T0 + HOUR,
            ends_at=T0 + 2 * HOUR,
            whole_organisation=True,
        )
        freeze_end(freeze_id=cancelled.pk, actor=demo["bob"], reason="not needed")
    report = governance_report("2026Q4", now=T0 + HOUR)
    assert [summary.freeze.pk for summary in report.freezes] == [holiday.pk]
    (summary,) = report.freezes
    assert summary.status == "in_force"
    assert summary.held == (running.pk,)  # the waiting one never started: nothing to hold
    assert waiting.pk not in summary.held
    data = report_dict(report)["freezes"]
    assert data[0]["held_proposals"] == [running.pk]
    assert data[0]["subsystems"] == ["connector-runtime"]
    assert "freeze,in_force,1," in report_csv(report)
    # Not in the next quarter: it ended in this one.
    assert governance_report("2027Q1", now=T0 + HOUR).freezes == ()


def test_the_report_page_shows_the_freezes(client, demo):
    with time_machine.travel(T0 - 48 * HOUR, tick=False):
        freeze_declare(
            actor=demo["bob"],
            reason="Year-end holiday",
            starts_at=T0,
            ends_at=T0 + 72 * HOUR,
            subsystems=["connector-runtime"],
        )
    client.force_login(demo["erin"])
    page = client.get("/reports/governance/?quarter=2026Q4").content.decode()
    assert "Change freezes" in page
    assert "Year-end holiday" in page
    assert "Connector runtime" in page
