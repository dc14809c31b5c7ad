"""Listing and reading waivers: visibility, filters, the inbox, and no N+1."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from waivers.models import WaiverRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/waivers/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


@pytest.fixture
def waivers(demo, single_stage, request_waiver, approve):
    """alice's open proposal waiver, pipeline's approved one, and bob's standing one."""
    mine = request_waiver("alice", proposal=single_stage("alice"))
    theirs = approve(request_waiver("pipeline", proposal=single_stage("pipeline")), "bob", "carol")
    standing = request_waiver("bob", subsystem="control-plane", change_type="control_plane")
    return {"mine": mine, "theirs": theirs, "standing": standing}


def test_engineers_see_their_own_and_those_covering_their_proposals(
    token_client, waivers, single_stage, request_waiver
):
    assert ids(token_client("alice").get(URL)) == [waivers["mine"].pk]
    # dave (an operator) requested for alice's proposal: alice sees it too.
    other = request_waiver("dave", proposal=single_stage("alice"))
    assert ids(token_client("alice").get(URL)) == sorted([waivers["mine"].pk, other.pk])
    assert token_client("alice").get(f"{URL}{waivers['theirs'].pk}/").status_code == 404
    assert ids(token_client("pipeline").get(URL)) == [waivers["theirs"].pk]


@pytest.mark.parametrize("name", ["bob", "carol", "dave", "erin"])
def test_view_all_roles_see_every_waiver(token_client, waivers, name):
    assert ids(token_client(name).get(URL)) == sorted(w.pk for w in waivers.values())


def test_filters(token_client, waivers):
    erin = token_client("erin")
    assert ids(erin.get(URL, {"state": "APPROVED"})) == [waivers["theirs"].pk]
    assert ids(erin.get(URL, {"subsystem": "control-plane"})) == [waivers["standing"].pk]
    assert ids(erin.get(URL, {"requester": "alice"})) == [waivers["mine"].pk]
    response = erin.get(URL, {"state": "GRANTED"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "state"


def test_awaiting_me_lists_what_i_could_approve_now(token_client, waivers, approve):
    mine, standing = waivers["mine"], waivers["standing"]
    # bob requested the standing one: not his to approve.
    assert ids(token_client("bob").get(URL, {"awaiting_me": "true"})) == [mine.pk]
    assert ids(token_client("carol").get(URL, {"awaiting_me": "true"})) == sorted(
        [mine.pk, standing.pk]
    )
    approve(mine, "carol")
    # carol has voted; frank (not a platform lead) cannot fill the lead's slot left.
    assert ids(token_client("carol").get(URL, {"awaiting_me": "true"})) == [standing.pk]
    assert ids(token_client("frank").get(URL, {"awaiting_me": "true"})) == [standing.pk]
    assert ids(token_client("bob").get(URL, {"awaiting_me": "true"})) == [mine.pk]
    assert ids(token_client("erin").get(URL, {"awaiting_me": "true"})) == []


def test_the_json_of_a_waiver(token_client, waivers):
    body = token_client("erin").get(f"{URL}{waivers['theirs'].pk}/").json()
    assert set(body) == {
        "id",
        "state",
        "scope",
        "proposal",
        "subsystem",
        "change_type",
        "rationale",
        "duration_days",
        "requester",
        "created_at",
        "approved_at",
        "expires_at",
        "approvals",
        "covered_proposals",
        "closed_at",
        "closed_by",
        "closing_reason",
    }
    assert body["covered_proposals"] == [waivers["theirs"].proposal_id]
    assert set(body["approvals"][0]) == {"approver", "role", "comment", "created_at"}


def test_the_list_costs_the_same_queries_for_3_or_12_waivers(
    token_client, waivers, request_waiver, approve, single_stage
):
    client = token_client("erin")
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(3):
        approve(request_waiver("alice", proposal=single_stage("alice")), "bob", "carol")
        request_waiver("pipeline", subsystem="connector-runtime", change_type="policy_update")
        approve(request_waiver("alice", proposal=single_stage("alice")), "frank")
    assert WaiverRequest.objects.count() == 12
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)
