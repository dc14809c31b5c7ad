"""``incident_record``: who may record, every input problem at once, and the audit event."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.codes import EventCode
from audit.models import AuditEvent
from governance.errors import IncidentInvalid, NotAllowed
from governance.models import Incident
from governance.services import incident_record
from org.roles import Role
from tests.factories import SectionFactory, SubsystemFactory, UserFactory
from tests.governance.conftest import at, utc

pytestmark = pytest.mark.django_db
SUBMITTED = utc(2026, 11, 2, 9)
NOW = utc(2026, 11, 20, 12)


@pytest.fixture
def proposal(builder):
    return builder.submit(SUBMITTED)


def record(proposal, user, **changes):
    values = {
        "occurred_at": utc(2026, 11, 3, 10),
        "severity": "SEV2",
        "affected_percentage": "12.5",
        "summary": "  Connections dropped in eu-west.  ",
        **changes,
    }
    with at(NOW):
        return incident_record(proposal=proposal, reported_by=user, **values)


@pytest.mark.parametrize("username", ["dave", "bob"])
def test_operators_and_leads_of_the_section_record(demo, proposal, username):
    incident = record(proposal, demo[username])
    assert incident.reported_by == demo[username]
    assert incident.affected_percentage == Decimal("12.50")
    assert incident.summary == "Connections dropped in eu-west."
    assert incident.created_at == NOW


@pytest.mark.parametrize("username", ["erin", "carol", "alice", "frank"])
def test_others_may_not(demo, proposal, username):
    # Auditors and reviewers read only; the author is an engineer; frank leads another section.
    with pytest.raises(NotAllowed) as refused:
        record(proposal, demo[username], severity="nonsense")  # refused before validation
    assert refused.value.code == "not_allowed_to_record"
    assert not Incident.objects.exists()


def test_a_lead_records_only_in_their_own_section(demo, submit):
    other = SubsystemFactory(slug="billing", section=SectionFactory(slug="finance"))
    lead = UserFactory(username="gina", roles=[Role.SECTION_LEAD])
    other.section.leads.add(lead)
    with at(SUBMITTED):
        theirs = submit("alice", subsystem="billing")
        ours = submit("alice")
    assert record(theirs, lead).pk
    with pytest.raises(NotAllowed):
        record(ours, lead)


def test_the_audit_event(demo, proposal):
    incident = record(proposal, demo["dave"])
    event = AuditEvent.objects.get(code=EventCode.INCIDENT_RECORDED)
    assert event.actor == demo["dave"]
    assert event.proposal_id == proposal.pk
    assert event.occurred_at == NOW
    assert event.reason == "Connections dropped in eu-west."
    assert event.data == {
        "incident": incident.pk,
        "severity": "SEV2",
        "occurred_at": "2026-11-03T10:00:00+00:00",
        "affected_percentage": "12.50",
        "wedge_state": "PENDING",
        "exposure_reached": 0.0,
    }


def test_every_problem_at_once(demo, proposal):
    with pytest.raises(IncidentInvalid) as invalid:
        record(
            proposal,
            demo["dave"],
            occurred_at=NOW + dt.timedelta(seconds=1),
            severity="SEV5",
            affected_percentage="100.01",
            summary="   ",
        )
    assert [(e.field, e.code) for e in invalid.value.errors] == [
        ("occurred_at", "in_future"),
        ("severity", "invalid_choice"),
        ("affected_percentage", "out_of_range"),
        ("summary", "blank"),
    ]
    assert not Incident.objects.exists()
    assert not AuditEvent.objects.filter(code=EventCode.INCIDENT_RECORDED).exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"occurred_at": SUBMITTED - dt.timedelta(seconds=1)}, "occurred_at", "before_proposal"),
        ({"occurred_at": dt.datetime(2026, 11, 3, 10)}, "occurred_at", "timezone_required"),
        ({"affected_percentage": "-0.01"}, "affected_percentage", "out_of_range"),
        ({"affected_percentage": "NaN"}, "affected_percentage", "out_of_range"),
        ({"affected_percentage": "ten"}, "affected_percentage", "out_of_range"),
        ({"affected_percentage": True}, "affected_percentage", "out_of_range"),
        ({"affected_percentage": "12.345"}, "affected_percentage", "too_precise"),
        ({"summary": "x" * 5001}, "summary", "too_long"),
    ],
)
def test_one_problem(demo, proposal, changes, field, code):
    with pytest.raises(IncidentInvalid) as invalid:
        record(proposal, demo["dave"], **changes)
    assert [(e.field, e.code) for e in invalid.value.errors] == [(field, code)]


@pytest.mark.parametrize(
    ("changes"),
    [
        {"occurred_at": SUBMITTED},  # the moment of submission itself
        {"occurred_at": NOW},  # right now
        {"affected_percentage": 0},
        {"affected_percentage": 100},
        {"summary": "x" * 5000},
    ],
)
def test_the_edges_are_accepted(demo, proposal, changes):
    assert record(proposal, demo["dave"], **changes).pk


def test_the_database_refuses_out_of_range_percentages(demo, proposal):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(
            proposal=proposal,
            reported_by=demo["dave"],
            occurred_at=NOW,
            severity="SEV1",
            affected_percentage=Decimal("100.01"),
            summary="x",
        )
