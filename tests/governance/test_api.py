"""``POST /api/v1/proposals/{id}/incidents/`` and ``GET /api/v1/incidents/?quarter=``."""

import json

import pytest
from rest_framework.test import APIClient

from audit.codes import EventCode
from audit.models import AuditEvent
from governance.models import Incident
from org.roles import Role
from org.tokens import api_token_for
from tests.factories import UserFactory
from tests.governance.conftest import BREACH, HEALTHY, at, utc

pytestmark = pytest.mark.django_db
T = utc(2026, 11, 2, 9)
NOW = utc(2026, 11, 5, 12)
BODY = {
    "occurred_at": "2026-11-02T10:03:00Z",
    "severity": "SEV1",
    "affected_percentage": 9.5,
    "summary": "Checkout errors",
}


@pytest.fixture
def rolled_back(builder):
    proposal = builder.submit(T)
    builder.start(proposal, T)
    builder.snapshot(proposal, HEALTHY, utc(2026, 11, 2, 10))
    builder.snapshot(proposal, BREACH, utc(2026, 11, 2, 10, 5))
    return proposal


def create(client, proposal_id, body):
    with at(NOW):
        return client.post(f"/api/v1/proposals/{proposal_id}/incidents/", body, format="json")


def test_an_operator_records_an_incident(token_client, demo, rolled_back):
    response = create(token_client("dave"), rolled_back.pk, BODY)
    assert response.status_code == 201, response.json()
    body = response.json()
    incident = Incident.objects.get()
    assert response["Location"] == f"/api/v1/incidents/{incident.pk}/"
    assert body == {
        "id": incident.pk,
        "proposal": rolled_back.pk,
        "source": "",
        "external_id": "",
        "title": "",
        "occurred_at": "2026-11-02T10:03:00Z",
        "resolved_at": None,
        "severity": "SEV1",
        "affected_percentage": 9.5,
        "summary": "Checkout errors",
        "service": "",
        "link": "",
        "reported_by": "dave",
        "created_at": "2026-11-05T12:00:00Z",
        "updated_at": "2026-11-05T12:00:00Z",
        "wedge_state": "ROLLED_BACK",
        "exposure_reached": 10.0,
        "contained": True,
    }
    assert AuditEvent.objects.filter(code=EventCode.INCIDENT_RECORDED).count() == 1


def test_validation_errors_in_the_error_shape(token_client, demo, rolled_back):
    response = create(
        token_client("bob"),
        rolled_back.pk,
        {**BODY, "affected_percentage": 101, "summary": " ", "occurred_at": "2026-12-01T00:00Z"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "field": "occurred_at",
                "code": "in_future",
                "message": "An incident cannot be in the future.",
            },
            {
                "field": "affected_percentage",
                "code": "out_of_range",
                "message": "The affected percentage is a number from 0 to 100.",
            },
            {"field": "summary", "code": "blank", "message": "Describe what happened."},
        ]
    }
    assert not Incident.objects.exists()


def test_shape_errors_come_from_the_serializer(token_client, demo, rolled_back):
    response = create(
        token_client("dave"),
        rolled_back.pk,
        {"severity": "SEV9", "affected_percentage": "lots", "summary": "x", "sevrity": "SEV1"},
    )
    assert response.status_code == 400
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {("sevrity", "unknown_key")}
    response = create(
        token_client("dave"),
        rolled_back.pk,
        {"severity": "SEV9", "affected_percentage": "lots", "summary": "x"},
    )
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {
        ("occurred_at", "required"),
        ("severity", "invalid_choice"),
        ("affected_percentage", "invalid"),
    }


@pytest.mark.parametrize("severity", ["\ud800", "SEV1\x00", "\udfffSEV1"])
def test_a_severity_no_text_can_hold_is_400_not_an_echo(token_client, demo, rolled_back, severity):
    """The choice field's message quoted the value; with a lone surrogate it could not render."""
    with at(NOW):
        response = token_client("dave").post(
            f"/api/v1/proposals/{rolled_back.pk}/incidents/",
            json.dumps({**BODY, "severity": severity}),  # ASCII escapes, as clients send them
            content_type="application/json",
        )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("severity", "invalid_characters")
    ]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("username", ["erin", "carol", "alice", "frank"])
def test_who_may_not_record_gets_403_whatever_the_body(token_client, demo, rolled_back, username):
    response = create(token_client(username), rolled_back.pk, {"nonsense": True})
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {
            "field": None,
            "code": "not_allowed_to_record",
            "message": "Only operators, and leads of the section owning the subsystem, may "
            "record incidents.",
        }
    ]


@pytest.mark.parametrize("proposal_id", ["999", "abc"])
def test_an_unknown_proposal_is_a_json_404(token_client, demo, proposal_id):
    response = create(token_client("dave"), proposal_id, BODY)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_anonymous_is_401(api_client, db):
    response = api_client.post("/api/v1/proposals/1/incidents/", BODY, format="json")
    assert response.status_code == 401


def test_list_by_quarter(token_client, quarter4):
    i = quarter4.incidents
    response = token_client("erin").get("/api/v1/incidents/", {"quarter": "2026Q4"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [row["id"] for row in body["results"]] == [
        i[k].pk
        for k in ("I4", "I2", "I1", "I3", "I6")  # newest first
    ]
    assert [row["contained"] for row in body["results"]] == [True, False, True, False, False]
    q1 = token_client("erin").get("/api/v1/incidents/", {"quarter": "2027q1"}).json()
    assert [row["id"] for row in q1["results"]] == [i["I5"].pk]
    severity = token_client("erin").get("/api/v1/incidents/", {"severity": "SEV3"}).json()
    assert severity["count"] == 2


@pytest.mark.parametrize(
    ("quarter", "message"),
    [
        ("2026Q5", "A year has quarters 1 to 4; got Q5."),
        ("26Q1", "Give the quarter as YYYYQn"),
        ("Target %", "Give the quarter as YYYYQn"),  # a % in the input (schemathesis found a 500)
    ],
)
def test_a_bad_quarter_is_a_400(token_client, demo, quarter, message):
    response = token_client("erin").get("/api/v1/incidents/", {"quarter": quarter})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("quarter", "invalid_quarter")
    assert error["message"].startswith(message)


def test_engineers_see_only_their_own_proposals_incidents(token_client, quarter4):
    assert token_client("alice").get("/api/v1/incidents/").json()["count"] == 6  # all hers
    zoe = APIClient()
    token = api_token_for(user=UserFactory(username="zoe", roles=[Role.ENGINEER]))
    zoe.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert zoe.get("/api/v1/incidents/").json()["count"] == 0
    p2 = quarter4.proposals["P2"].pk
    # A proposal she may not read is answered as on its page: not found.
    assert zoe.get(f"/api/v1/proposals/{p2}/incidents/").status_code == 404
    assert zoe.get(f"/api/v1/incidents/{quarter4.incidents['I1'].pk}/").status_code == 404


def test_read_one_and_a_proposals_list(token_client, quarter4):
    i1 = quarter4.incidents["I1"]
    client = token_client("carol")
    assert client.get(f"/api/v1/incidents/{i1.pk}/").json()["severity"] == "SEV2"
    assert client.get("/api/v1/incidents/x/").status_code == 404
    rows = client.get(f"/api/v1/proposals/{quarter4.proposals['P2'].pk}/incidents/").json()
    assert [row["severity"] for row in rows["results"]] == ["SEV1", "SEV2"]


def test_the_schema_documents_the_incident_endpoints(token_client, demo):
    schema = token_client("erin").get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    post = paths["/api/v1/proposals/{id}/incidents/"]["post"]
    assert set(post["responses"]) >= {"201", "400", "401", "403", "404"}
    listing = paths["/api/v1/incidents/"]["get"]
    assert "quarter" in {p["name"] for p in listing["parameters"]}
    assert "400" in listing["responses"]
    assert {"contained", "exposure_reached"} <= set(
        schema["components"]["schemas"]["Incident"]["properties"]
    )
