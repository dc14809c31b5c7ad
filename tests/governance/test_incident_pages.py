"""The incident block of the proposal page and the form that records an incident."""

import re

import pytest
from django.contrib.messages import get_messages

from audit.codes import EventCode
from audit.models import AuditEvent
from governance.models import Incident
from org.roles import Role
from tests.factories import UserFactory
from tests.governance.conftest import BREACH, HEALTHY, at, utc

pytestmark = pytest.mark.django_db
T = utc(2026, 11, 2, 9)
NOW = utc(2026, 11, 5, 12)


@pytest.fixture
def rolled_back(builder):
    """A proposal rolled back at canary (10 %)."""
    proposal = builder.submit(T)
    builder.start(proposal, T)
    builder.snapshot(proposal, HEALTHY, utc(2026, 11, 2, 10))
    builder.snapshot(proposal, BREACH, utc(2026, 11, 2, 10, 5))
    return proposal


def detail(client, user, proposal):
    client.force_login(user)
    with at(NOW):
        response = client.get(f"/proposals/{proposal.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def post(client, user, proposal, **changes):
    client.force_login(user)
    data = {
        "incident-occurred_at": "2026-11-02T10:03",
        "incident-severity": "SEV2",
        "incident-affected_percentage": "7.5",
        "incident-summary": "Timeouts on canary hosts",
        **changes,
    }
    with at(NOW):
        return client.post(f"/reports/proposals/{proposal.pk}/incidents/new/", data)


@pytest.mark.parametrize("username", ["dave", "bob"])
def test_operators_and_leads_get_the_form_on_the_proposal_page(client, demo, rolled_back, username):
    page = detail(client, demo[username], rolled_back)
    assert '<section id="incidents" aria-labelledby="incidents-heading">' in page
    assert "No incidents recorded against this proposal." in page
    assert f'action="/reports/proposals/{rolled_back.pk}/incidents/new/"' in page
    # The block sits below the rollout's state and the operator controls.
    assert page.index('id="live"') < page.index('id="controls"') < page.index('id="incidents"')
    # No severity is chosen for the person recording it.
    assert '<option value="" selected>Choose the severity</option>' in page


@pytest.mark.parametrize("username", ["erin", "carol", "frank", "alice"])
def test_readers_see_incidents_without_the_form(client, demo, rolled_back, username):
    page = detail(client, demo[username], rolled_back)
    assert 'id="incidents"' in page
    assert "Record an incident" not in page


def test_other_engineers_do_not_see_the_block(client, demo, rolled_back):
    # Nor the proposal: engineers read their own (the table in org.access).
    client.force_login(UserFactory(username="zoe", roles=[Role.ENGINEER]))
    assert client.get(f"/proposals/{rolled_back.pk}/").status_code == 404


def test_recording_through_the_form(client, demo, rolled_back):
    response = post(client, demo["dave"], rolled_back)
    assert response.status_code == 302
    assert response["Location"] == f"/proposals/{rolled_back.pk}/#incidents"
    incident = Incident.objects.get()
    assert (incident.severity, str(incident.affected_percentage)) == ("SEV2", "7.50")
    assert incident.occurred_at == utc(2026, 11, 2, 10, 3)
    assert AuditEvent.objects.filter(
        code=EventCode.INCIDENT_RECORDED, proposal_id=rolled_back.pk, actor=demo["dave"]
    ).exists()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Incident #{incident.pk} (SEV2) was recorded."
    ]
    page = detail(client, demo["erin"], rolled_back)
    row = re.search(rf'<tr id="incident-{incident.pk}">(.*?)</tr>', page, re.S)[1]
    assert "7.5 %" in row
    assert '<td data-label="Contained by the wedge">Yes</td>' in row  # rolled back at 10 %
    assert "Timeouts on canary hosts" in row
    assert "the 10 % it had exposed" in page


def test_an_escaped_incident_is_not_contained(client, demo, rolled_back):
    post(client, demo["bob"], rolled_back, **{"incident-affected_percentage": "10.01"})
    page = detail(client, demo["erin"], rolled_back)
    assert '<td data-label="Contained by the wedge">No</td>' in page


def test_invalid_input_shows_the_form_again_with_every_error(client, demo, rolled_back):
    response = post(
        client,
        demo["dave"],
        rolled_back,
        **{
            "incident-occurred_at": "2026-11-06T09:00",  # after NOW
            "incident-severity": "SEV2",
            "incident-affected_percentage": "7.5",
            "incident-summary": "x",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "An incident cannot be in the future." in page
    assert 'id="incident-occurred_at-errors"' in page
    assert not Incident.objects.exists()

    response = post(
        client,
        demo["dave"],
        rolled_back,
        **{"incident-affected_percentage": "150", "incident-summary": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value is less than or equal to 100." in page
    assert "This field is required." in page


def test_the_form_page_for_those_who_may(client, demo, rolled_back):
    client.force_login(demo["dave"])
    response = client.get(f"/reports/proposals/{rolled_back.pk}/incidents/new/")
    assert response.status_code == 200
    assert "<h1>Record an incident</h1>" in response.content.decode()


@pytest.mark.parametrize("username", ["erin", "carol", "frank", "alice"])
def test_others_are_refused(client, demo, rolled_back, username):
    assert post(client, demo[username], rolled_back).status_code == 403
    client.force_login(demo[username])
    assert client.get(f"/reports/proposals/{rolled_back.pk}/incidents/new/").status_code == 403
    assert not Incident.objects.exists()


def test_an_unknown_proposal_is_a_404(client, demo):
    client.force_login(demo["dave"])
    assert client.get("/reports/proposals/999/incidents/new/").status_code == 404
