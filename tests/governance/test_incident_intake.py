"""Incident data in: the API and the CSV import, linking by time, updating by id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.codes import EventCode
from audit.models import AuditEvent
from governance import intake
from governance.errors import IncidentInvalid, NotAllowed
from governance.models import Incident
from governance.services import incident_upsert
from tests.governance.conftest import BREACH, HEALTHY, at, utc

pytestmark = pytest.mark.django_db

T = utc(2026, 11, 2, 9)  # the rollout starts
NOW = utc(2026, 11, 20, 12)


@pytest.fixture
def rollouts(builder):
    """One rollout on connector-runtime: started at T, paused at T+1h, rolled back at T+2h."""
    proposal = builder.submit(T - dt.timedelta(hours=1))
    builder.start(proposal, T)
    builder.snapshot(proposal, HEALTHY, T + dt.timedelta(minutes=5))
    builder.pause(proposal, T + dt.timedelta(hours=1))
    builder.snapshot(proposal, BREACH, T + dt.timedelta(hours=2))
    return proposal


def row(**changes):
    data = {
        "external_id": "PD-1",
        "title": "Connector errors",
        "severity": "critical",
        "started_at": (T + dt.timedelta(minutes=30)).isoformat(),
        "affected_percentage": "4.5",
        "subsystem": "connector-runtime",
        "link": "https://example.pagerduty.com/incidents/PD-1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def upsert(demo, data, **kwargs):
    with at(NOW):
        return incident_upsert(data=data, source="pagerduty", actor=demo["dave"], **kwargs)


@pytest.mark.parametrize(
    ("started", "linked"),
    [
        (T - dt.timedelta(seconds=1), False),  # before the start
        (T, True),  # the start is inclusive
        (T + dt.timedelta(hours=1, minutes=30), True),  # PAUSED still rolls out
        (T + dt.timedelta(hours=2) - dt.timedelta(seconds=1), True),
        (T + dt.timedelta(hours=2), False),  # the rollback's instant: stopped
    ],
)
def test_an_incident_without_a_proposal_links_to_the_rollout_running_then(
    demo, rollouts, started, linked
):
    data = row(started_at=started.isoformat())
    if linked:
        done = upsert(demo, data)
        assert (done.incident.proposal_id, done.linked_by_time) == (rollouts.pk, True)
    else:
        with pytest.raises(IncidentInvalid) as refused:
            upsert(demo, data)
        assert [(e.field, e.code) for e in refused.value.errors] == [
            ("subsystem", "no_rollout_then")
        ]


def test_reimporting_the_same_id_updates_and_never_duplicates(demo, rollouts):
    first = upsert(demo, row())
    assert first.created
    assert first.incident.severity == "SEV1"
    again = upsert(demo, row())
    assert (again.created, again.changed) == (False, ())
    changed = upsert(demo, row(severity="P2", resolved_at=(T + dt.timedelta(hours=3)).isoformat()))
    assert changed.changed == ("resolved_at", "severity")
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert (incident.severity, incident.affected_percentage) == ("SEV2", Decimal("4.50"))
    codes = list(
        AuditEvent.objects.filter(code__startswith="WDG-50")
        .order_by("id")
        .values_list("code", flat=True)
    )
    assert codes == [EventCode.INCIDENT_RECORDED, EventCode.INCIDENT_UPDATED]
    # The same id from another tool is another incident.
    with at(NOW):
        incident_upsert(data=row(), source="opsgenie", actor=demo["dave"])
    assert Incident.objects.count() == 2


def test_every_problem_is_named_by_its_field(demo, rollouts):
    with pytest.raises(IncidentInvalid) as refused:
        upsert(
            demo,
            row(
                external_id="",
                severity="urgent",
                started_at="yesterday",
                affected_percentage="120",
                link="ftp://x",
            ),
        )
    assert sorted((e.field, e.code) for e in refused.value.errors) == [
        ("affected_percentage", "out_of_range"),
        ("external_id", "required"),
        ("link", "invalid_url"),
        ("severity", "invalid_choice"),
        ("started_at", "invalid"),
    ]


def test_a_naive_time_and_a_resolution_before_the_start_are_refused(demo, rollouts):
    with pytest.raises(IncidentInvalid) as refused:
        upsert(demo, row(started_at="2026-11-02T09:30:00"))
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("started_at", "timezone_required")
    ]
    with pytest.raises(IncidentInvalid) as refused:
        upsert(demo, row(resolved_at=T.isoformat()))
    assert [(e.field, e.code) for e in refused.value.errors] == [("resolved_at", "before_start")]


def test_only_those_who_operate_the_subsystem_may(demo, rollouts):
    with at(NOW), pytest.raises(NotAllowed):
        incident_upsert(data=row(), source="pagerduty", actor=demo["alice"])


def test_a_dry_run_writes_nothing(demo, rollouts):
    done = upsert(demo, row(), dry_run=True)
    assert done.created
    assert done.incident.pk is None
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("given", "severity"),
    [
        ("SEV2", "SEV2"),
        ("sev-3", "SEV3"),
        ("P1", "SEV1"),
        ("P5", "SEV4"),
        ("High", "SEV2"),
        ("low", "SEV4"),
        ("S4", "SEV4"),
        ("P6", None),
        ("", None),
    ],
)
def test_severities_of_common_tools(given, severity):
    assert intake.severity(given) == severity


# --- The API -------------------------------------------------------------------------------


def test_post_creates_then_updates(token_client, demo, rollouts):
    dave = token_client("dave")
    with at(NOW):
        created = dave.post("/api/v1/incidents/", row(source="pagerduty"), format="json")
        assert created.status_code == 201, created.json()
        updated = dave.post(
            "/api/v1/incidents/", row(source="pagerduty", title="Renamed"), format="json"
        )
    assert updated.status_code == 200
    body = updated.json()
    assert (body["id"], body["title"], body["proposal"]) == (
        created.json()["id"],
        "Renamed",
        rollouts.pk,
    )
    assert (body["source"], body["external_id"], body["severity"]) == ("pagerduty", "PD-1", "SEV1")


def test_post_refusals_use_the_error_shape(token_client, demo, rollouts):
    with at(NOW):
        bad = token_client("dave").post(
            "/api/v1/incidents/", row(severity="urgent", subsystem="nowhere"), format="json"
        )
        forbidden = token_client("alice").post("/api/v1/incidents/", row(), format="json")
        unknown = token_client("dave").post(
            "/api/v1/incidents/", {**row(), "priority_x": 1}, format="json"
        )
    assert bad.status_code == 400
    assert sorted((e["field"], e["code"]) for e in bad.json()["errors"]) == [
        ("severity", "invalid_choice"),
        ("subsystem", "does_not_exist"),
    ]
    assert forbidden.status_code == 403
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "priority_x"


# --- The CSV import ------------------------------------------------------------------------

CSV = (
    "Incident Number,Title,Priority,Created At,Resolved At,Affected %,Service,URL\n"
    "PD-1,Connector errors,P1,2026-11-02T09:30:00Z,2026-11-02T10:00:00Z,4.5,"
    "connector-runtime,https://x.example/PD-1\n"
    "PD-2,Timeouts,P3,2026-11-02T09:40:00Z,,2,connector-runtime,\n"
)


def run_import(tmp_path, capsys, content, *extra):
    path = tmp_path / "incidents.csv"
    path.write_text(content)
    with at(NOW), pytest.raises(SystemExit) as exit_info:
        call_command("import_incidents", str(path), "--user", "dave", *extra)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_import_creates_then_updates_by_id(tmp_path, capsys, demo, rollouts):
    code, out, _ = run_import(tmp_path, capsys, CSV, "--source", "pagerduty")
    assert code == 0, out
    assert "2 created, 0 updated, 0 unchanged, 0 refused." in out
    assert Incident.objects.filter(proposal=rollouts).count() == 2
    changed = CSV.replace("Timeouts,P3", "Timeouts,P2")
    code, out, _ = run_import(tmp_path, capsys, changed, "--source", "pagerduty")
    assert code == 0
    assert "0 created, 1 updated, 1 unchanged, 0 refused." in out
    assert "row 3: updated PD-2 -> proposal" in out
    assert Incident.objects.count() == 2


def test_import_dry_run_writes_nothing(tmp_path, capsys, demo, rollouts):
    code, out, _ = run_import(tmp_path, capsys, CSV, "--dry-run")
    assert code == 0
    assert "2 created" in out
    assert "dry run: nothing written" in out
    assert not Incident.objects.exists()


def test_import_names_the_row_and_column_of_each_problem(tmp_path, capsys, demo, rollouts):
    bad = CSV + "PD-3,Bad,P9,2026-11-02 09:45,,abc,connector-runtime,\n"
    code, out, _err = run_import(tmp_path, capsys, bad)
    assert code == 1
    assert "row 4, column Priority: severity is SEV1 to SEV4" in out
    assert "row 4, column Created At: Give the time with its time zone" in out
    assert "row 4, column Affected %: The affected percentage is a number from 0 to 100." in out
    assert "2 created, 0 updated, 0 unchanged, 1 refused." in out
    assert Incident.objects.count() == 2  # the good rows went in


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty, or not a CSV file"),
        ("Title,Priority\nx,P1\n", "missing column(s): external_id"),
        ("id,title,severity,started_at,affected\n1,a,P1,2026-11-02T09:30:00Z,1\n", "subsystem"),
    ],
)
def test_import_exits_2_on_a_file_it_cannot_read(tmp_path, capsys, demo, content, message):
    code, _, err = run_import(tmp_path, capsys, content)
    assert code == 2
    assert message in err


def test_the_proposal_page_shows_an_imported_incident(client, demo, rollouts):
    upsert(demo, row(resolved_at=(T + dt.timedelta(hours=3)).isoformat()))
    with at(NOW):
        client.force_login(demo["dave"])
        page = client.get(f"/proposals/{rollouts.pk}/").content.decode()
    assert "<strong>Connector errors</strong>" in page
    assert (
        '<a href="https://example.pagerduty.com/incidents/PD-1" rel="noopener noreferrer">PD-1</a>'
        " from pagerduty, resolved"
    ) in page


# --- The import page -------------------------------------------------------------------------


def post_file(client, content: str, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("incidents.csv", content.encode(), content_type="text/csv")
    return client.post("/reports/incidents/import/", {"file": upload, **fields})


def test_the_import_page_checks_then_imports(client, demo, rollouts):
    with at(NOW):
        client.force_login(demo["dave"])
        assert client.get("/reports/incidents/import/").status_code == 200
        checked = post_file(client, CSV, source="pagerduty", dry_run="on")
        assert checked.status_code == 200
        assert not Incident.objects.exists()
        page = checked.content.decode()
        assert "2 created, 0 updated, 0 unchanged, 0 refused (dry run: nothing written)." in page
        assert "Would be created" in page
        imported = post_file(
            client, CSV + "PD-3,Bad,P9,2026-11-02T09:45:00Z,,1,nowhere,\n", source="pagerduty"
        )
    page = imported.content.decode()
    assert "2 created, 0 updated, 0 unchanged, 1 refused." in page
    assert "Column Priority: severity is SEV1 to SEV4" in page
    assert "Column Service: There is no subsystem" in page
    assert "[invalid_choice]" not in page
    assert Incident.objects.filter(source="pagerduty").count() == 2


def test_the_import_page_refuses_a_file_it_cannot_read_and_engineers(client, demo, rollouts):
    with at(NOW):
        client.force_login(demo["dave"])
        bad = post_file(client, "Title,Priority\nx,P1\n", source="csv")
        client.force_login(demo["alice"])
        refused = client.get("/reports/incidents/import/")
    assert bad.status_code == 400
    assert "This file cannot be imported: missing column(s): external_id" in bad.content.decode()
    assert refused.status_code == 403
