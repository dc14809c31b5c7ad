"""Declaring and ending freezes through the API and the pages; who may; bad input; notices."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.codes import EventCode
from audit.models import AuditEvent
from freezes.models import ChangeFreeze
from freezes.services import freeze_declare

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


def body(**changes):
    starts = timezone.now() + HOUR
    data = {
        "reason": "Year-end holiday",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + 48 * HOUR).isoformat(),
        "subsystems": ["connector-runtime"],
    }
    data.update(changes)
    return data


def declared(demo, *, starts=None, **changes):
    starts = starts or timezone.now() - HOUR
    scope = {"subsystems": ["connector-runtime"], **changes}
    return freeze_declare(
        actor=demo["bob"],
        reason="Incident 42",
        starts_at=starts,
        ends_at=starts + 4 * HOUR,
        now=starts - timedelta(minutes=1),
        **scope,
    )


def test_a_section_lead_declares_a_freeze_of_their_subsystem(api_client, demo):
    api_client.force_authenticate(demo["bob"])
    answer = api_client.post("/api/v1/freezes/", body(), format="json")
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert data["status"] == "scheduled"
    assert data["subsystems"] == ["connector-runtime"]
    assert data["declared_by"] == "bob"
    event = AuditEvent.objects.get(code=EventCode.FREEZE_DECLARED)
    assert event.data["freeze"] == data["id"]
    assert event.actor_label == "bob"
    listed = api_client.get("/api/v1/freezes/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [data["id"]]


def test_any_section_lead_may_freeze_the_whole_organisation(api_client, demo):
    api_client.force_authenticate(demo["frank"])  # leads security, which owns no subsystem
    answer = api_client.post(
        "/api/v1/freezes/", body(subsystems=[], whole_organisation=True), format="json"
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["whole_organisation"] is True


@pytest.mark.parametrize("username", ["alice", "dave", "carol", "erin"])
def test_who_leads_no_section_may_not_declare(api_client, demo, username):
    api_client.force_authenticate(demo[username])
    answer = api_client.post("/api/v1/freezes/", body(), format="json")
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "not_a_lead"


def test_a_lead_may_not_freeze_another_sections_subsystem(api_client, demo):
    api_client.force_authenticate(demo["frank"])
    answer = api_client.post("/api/v1/freezes/", body(), format="json")
    assert answer.status_code == 403
    assert "Connector runtime" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"reason": "  "}, "reason", "blank"),
        ({"subsystems": []}, "subsystems", "no_scope"),
        ({"whole_organisation": True}, "subsystems", "both_scopes"),
        ({"subsystems": ["connector-runtime", "nope"]}, "subsystems[1]", "unknown_subsystem"),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_at", "ends_before_start"),
        ({"starts_at": "2020-01-01T00:00:00+00:00"}, "starts_at", "in_past"),
        ({"starts_at": "next tuesday"}, "starts_at", "invalid"),
        ({"color": "blue"}, "color", "unknown_key"),
    ],
)
def test_bad_input_names_its_field_and_code(api_client, demo, changes, field, code):
    api_client.force_authenticate(demo["bob"])
    answer = api_client.post("/api/v1/freezes/", body(**changes), format="json")
    assert answer.status_code == 400, answer.json()
    assert (field, code) in {(error["field"], error["code"]) for error in answer.json()["errors"]}
    assert not ChangeFreeze.objects.exists()


def test_a_window_longer_than_sixty_days_is_refused(api_client, demo):
    api_client.force_authenticate(demo["bob"])
    starts = timezone.now() + HOUR
    answer = api_client.post(
        "/api/v1/freezes/",
        body(ends_at=(starts + timedelta(days=61)).isoformat(), starts_at=starts.isoformat()),
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "window_too_long"


def test_ending_a_scheduled_freeze_cancels_it_and_twice_is_a_conflict(api_client, demo):
    freeze = declared(demo, starts=timezone.now() + HOUR)
    api_client.force_authenticate(demo["bob"])
    answer = api_client.post(
        f"/api/v1/freezes/{freeze.pk}/end/", {"reason": "moved"}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "cancelled"
    assert AuditEvent.objects.filter(code=EventCode.FREEZE_CANCELLED).count() == 1
    again = api_client.post(f"/api/v1/freezes/{freeze.pk}/end/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_ended"


def test_ending_a_freeze_in_force_ends_it_early(api_client, demo):
    freeze = declared(demo)
    api_client.force_authenticate(demo["admin"])
    answer = api_client.post(f"/api/v1/freezes/{freeze.pk}/end/", {}, format="json")
    assert answer.json()["status"] == "ended_early"
    assert AuditEvent.objects.filter(code=EventCode.FREEZE_ENDED).count() == 1


def test_a_lead_elsewhere_may_not_end_it(api_client, demo):
    freeze = declared(demo)
    api_client.force_authenticate(demo["frank"])
    answer = api_client.post(f"/api/v1/freezes/{freeze.pk}/end/", {}, format="json")
    assert answer.status_code == 403
    assert api_client.get("/api/v1/freezes/abc/").status_code == 404


def test_the_page_lists_freezes_and_a_lead_declares_one(client, demo):
    client.force_login(demo["bob"])
    page = client.get("/freezes/")
    assert page.status_code == 200
    assert "Declare a freeze" in page.content.decode()
    starts = timezone.now() + HOUR
    answer = client.post(
        "/freezes/",
        {
            "reason": "Release weekend",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + 24 * HOUR).strftime("%Y-%m-%dT%H:%M"),
            "scope": "subsystems",
            "subsystems": ["connector-runtime"],
        },
        follow=True,
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "Release weekend" in text
    assert "Scheduled" in text
    assert "Cancel it" in text


def test_the_form_shows_the_services_errors_by_field(client, demo):
    client.force_login(demo["bob"])
    starts = timezone.now() + HOUR
    answer = client.post(
        "/freezes/",
        {
            "reason": "Release weekend",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "scope": "subsystems",
        },
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "The freeze must end after it starts." in text
    assert "Name the subsystems to freeze" in text


def test_engineers_read_the_page_without_the_form(client, demo):
    client.force_login(demo["alice"])
    page = client.get("/freezes/").content.decode()
    assert "Declare a freeze" not in page
    assert client.post("/freezes/", {"reason": "x"}).status_code == 403


def test_the_dashboard_and_the_proposal_page_show_the_freeze_in_force(client, demo, submit):
    proposal = submit("alice")
    declared(demo)
    client.force_login(demo["alice"])
    dashboard = client.get("/").content.decode()
    assert "Change freeze until" in dashboard
    assert "Incident 42" in dashboard
    assert "Connector runtime" in dashboard
    detail = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Frozen until" in detail
    assert "it will not start or advance unless a waiver covers it" in detail


def test_a_proposal_elsewhere_shows_no_notice(client, demo, submit):
    proposal = submit("alice")
    declared(demo, subsystems=["control-plane"])
    client.force_login(demo["alice"])
    detail = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Frozen until" not in detail
