"""Scoped tokens end to end: what a deployment agent's token may do, and nothing more."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from rest_framework.test import APIClient

from org.models import Scope, Subsystem, User
from org.tokens import token_issue
from wedges.models import ChangeProposal
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db
HEALTHY = {"metrics": {"error_rate": 0.004, "p99": "180ms"}}

TokenClient = Callable[..., APIClient]


@pytest.fixture
def scoped(demo: dict[str, User]) -> TokenClient:
    """An API client with a new token of ``owner`` carrying ``scopes`` (and ``subsystems``)."""

    def make(owner: str, scopes: Iterable[Scope], subsystems: Iterable[str] = ()) -> APIClient:
        issued = token_issue(
            owner=demo[owner],
            actor=demo[owner],
            name="test",
            scopes=list(scopes),
            subsystems=list(Subsystem.objects.filter(slug__in=list(subsystems))),
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
        return client

    return make


@pytest.fixture
def running(demo, submit) -> dict[str, ChangeProposal]:
    """Alice's started proposals, one on each subsystem."""
    proposals = {
        "connector-runtime": submit("alice"),
        "control-plane": submit("alice", subsystem="control-plane"),
    }
    for proposal in proposals.values():
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    return proposals


AGENT = [Scope.METRICS_WRITE, Scope.DESIRED_STATE_READ]


def metrics(client: APIClient, proposal: ChangeProposal) -> int:
    url = f"/api/v1/proposals/{proposal.pk}/metrics/"
    return client.post(url, HEALTHY, format="json").status_code


def desired(client: APIClient, proposal: ChangeProposal) -> int:
    return client.get(f"/api/v1/proposals/{proposal.pk}/desired-state/").status_code


def test_a_fleet_agent_reports_for_every_proposal_of_its_subsystem_and_nothing_else(
    scoped, running
):
    # The pipeline service account is an engineer that authored none of them.
    agent = scoped("pipeline", AGENT, ["connector-runtime"])
    mine, other = running["connector-runtime"], running["control-plane"]
    assert metrics(agent, mine) == 200
    assert desired(agent, mine) == 200
    assert agent.get(f"/api/v1/proposals/{mine.pk}/desired-state/").json()["wedge_state"] == (
        "ACTIVE"
    )
    # Another subsystem: as if the proposal did not exist.
    assert metrics(agent, other) == 404
    assert desired(agent, other) == 404


def test_an_agent_token_for_all_subsystems_reaches_all_of_them(scoped, running):
    agent = scoped("pipeline", AGENT)
    assert [metrics(agent, p) for p in running.values()] == [200, 200]
    assert [desired(agent, p) for p in running.values()] == [200, 200]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/proposals/{id}/start/", {}),
        ("post", "/api/v1/proposals/{id}/rollback/", {"reason": "agent says so"}),
        ("post", "/api/v1/proposals/{id}/advance/", {}),
        ("post", "/api/v1/proposals/", {}),
        ("post", "/api/v1/proposals/validate/", {}),
        ("get", "/api/v1/audit-events/", None),
        ("get", "/api/v1/audit-events/export/", None),
        ("post", "/api/v1/proposals/{id}/incidents/", {}),
        ("post", "/api/v1/waivers/", {}),
        ("get", "/api/v1/webhooks/", None),
    ],
)
def test_an_agent_token_may_do_nothing_else(scoped, running, method, path, body):
    agent = scoped("pipeline", AGENT, ["connector-runtime"])
    url = path.format(id=running["connector-runtime"].pk)
    response = (
        getattr(agent, method)(url, body, format="json") if body is not None else (agent.get(url))
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "insufficient_scope"


def test_each_agent_scope_alone_allows_only_its_own_call(scoped, running):
    proposal = running["connector-runtime"]
    reporter = scoped("pipeline", [Scope.METRICS_WRITE])
    reader = scoped("pipeline", [Scope.DESIRED_STATE_READ])
    assert (metrics(reporter, proposal), desired(reporter, proposal)) == (200, 403)
    assert (metrics(reader, proposal), desired(reader, proposal)) == (403, 200)


def test_reading_proposals_goes_as_far_as_the_owner_and_the_subsystems(scoped, running, submit):
    # The agent may read proposals, but only what its owner may read: the
    # pipeline reads the proposals it authored, here one on each subsystem.
    own = {"cr": submit("pipeline"), "cp": submit("pipeline", subsystem="control-plane")}
    agent = scoped("pipeline", AGENT, ["connector-runtime"])
    listed = agent.get("/api/v1/proposals/").json()["results"]
    assert [p["id"] for p in listed] == [own["cr"].pk]
    assert agent.get(f"/api/v1/proposals/{own['cr'].pk}/").status_code == 200
    assert agent.get(f"/api/v1/proposals/{own['cp'].pk}/").status_code == 404
    # Alice's proposals: the agent reports for them, but reading them is the owner's reach.
    assert agent.get(f"/api/v1/proposals/{running['connector-runtime'].pk}/").status_code == 404


def test_an_operators_read_token_sees_everything_of_its_subsystems(scoped, running):
    reader = scoped("dave", [Scope.AUDIT_READ], ["control-plane"])
    listed = reader.get("/api/v1/proposals/").json()["results"]
    assert [p["id"] for p in listed] == [running["control-plane"].pk]


def test_a_human_engineers_metrics_token_reports_only_for_her_own_proposals(
    scoped, running, submit, demo
):
    # No fleet reach for people: alice's token does what alice may, no more.
    bobs = submit("bob")
    wedge_start(proposal_id=bobs.pk, actor=demo["dave"])
    token = scoped("alice", AGENT)
    assert metrics(token, running["connector-runtime"]) == 200
    assert metrics(token, bobs) == 404  # she may not read it
    assert desired(token, bobs) == 404


def test_an_operators_metrics_token_reports_where_the_operator_may(scoped, running):
    token = scoped("dave", [Scope.METRICS_WRITE], ["control-plane"])
    assert metrics(token, running["control-plane"]) == 200
    assert metrics(token, running["connector-runtime"]) == 404  # beyond the token's subsystems


def test_a_service_account_without_the_engineer_role_gets_no_fleet_reach(scoped, running, demo):
    agent = scoped("pipeline", AGENT)
    demo["pipeline"].groups.clear()
    # Permissions are cached per user object; the next request loads the user afresh.
    assert metrics(agent, running["connector-runtime"]) == 404
    assert desired(agent, running["connector-runtime"]) == 404


def test_admin_scope_is_the_owners_own_rights_without_fleet_reach(scoped, running, submit):
    # A full-rights token of the pipeline does what the pipeline may, as before scopes.
    token = scoped("pipeline", [Scope.ADMIN])
    assert metrics(token, running["connector-runtime"]) == 404
    own = submit("pipeline")
    assert token.get(f"/api/v1/proposals/{own.pk}/").status_code == 200
    assert token.post("/api/v1/proposals/validate/", {}, format="json").status_code == 200


def test_admin_scope_limited_to_a_subsystem_acts_there_only(scoped, running):
    token = scoped("dave", [Scope.ADMIN], ["control-plane"])
    mine, other = running["control-plane"], running["connector-runtime"]
    assert token.post(f"/api/v1/proposals/{mine.pk}/pause/", {}, format="json").status_code == 200
    assert token.post(f"/api/v1/proposals/{other.pk}/pause/", {}, format="json").status_code == 404
    assert metrics(token, mine) == 200
    assert metrics(token, other) == 404
    listed = token.get("/api/v1/proposals/").json()["results"]
    assert [p["id"] for p in listed] == [mine.pk]
    # A section's webhooks carry every subsystem's events: no limited token manages them.
    webhooks = token.get("/api/v1/webhooks/")
    assert webhooks.status_code == 403
    assert webhooks.json()["errors"][0]["code"] == "insufficient_scope"


def test_reads_need_no_scope_but_stay_within_the_owner_and_the_subsystems(scoped, running, submit):
    own = submit("pipeline")
    agent = scoped("pipeline", AGENT, ["control-plane"])
    assert agent.get("/api/v1/schema/").status_code == 200
    assert agent.get("/api/v1/waivers/").json()["results"] == []
    assert agent.get(f"/api/v1/proposals/{own.pk}/incidents/").status_code == 404


def test_sessions_are_unaffected(running, demo):
    client = APIClient()
    client.force_login(demo["alice"])
    assert client.get("/api/v1/audit-events/").status_code == 200
    assert metrics(client, running["connector-runtime"]) == 200


def test_an_audit_token_limited_to_a_subsystem_reads_only_its_events(scoped, running, demo):
    from waivers.services import waiver_request

    standing = waiver_request(
        requester=demo["alice"],
        rationale="Policy updates are one flag each.",
        duration_days=30,
        subsystem=Subsystem.objects.get(slug="connector-runtime"),
        change_type="policy_update",
    )
    elsewhere = waiver_request(
        requester=demo["alice"],
        rationale="Same on the control plane.",
        duration_days=30,
        subsystem=Subsystem.objects.get(slug="control-plane"),
        change_type="policy_update",
    )
    reader = scoped("dave", [Scope.AUDIT_READ], ["connector-runtime"])
    events = reader.get("/api/v1/audit-events/?page_size=500").json()["results"]
    proposals = {event["proposal_id"] for event in events} - {None}
    waivers = {event["waiver_id"] for event in events if event["proposal_id"] is None}
    assert proposals == {running["connector-runtime"].pk}
    assert waivers == {standing.pk}
    assert elsewhere.pk not in waivers
    # Events about neither (the tokens just issued, sign-ins) belong to no subsystem.
    assert all(event["proposal_id"] or event["waiver_id"] for event in events)
    exported = reader.get("/api/v1/audit-events/export/")
    assert {row["proposal_id"] for row in _streamed(exported)} <= {
        running["connector-runtime"].pk,
        None,
    }
    # Without the limit the same owner reads the whole trail, token events included.
    everything = scoped("dave", [Scope.AUDIT_READ]).get("/api/v1/audit-events/?page_size=500")
    assert any(
        event["proposal_id"] is None and event["waiver_id"] is None
        for event in everything.json()["results"]
    )


def _streamed(response) -> list[dict]:
    import json

    return json.loads(b"".join(response.streaming_content))


def test_a_standing_waiver_for_another_subsystem_is_refused_for_its_scope(scoped, demo):
    token = scoped("alice", [Scope.PROPOSALS_WRITE], ["control-plane"])
    body = {"rationale": "One flag.", "duration_days": 7, "change_type": "policy_update"}
    other = token.post(
        "/api/v1/waivers/", {**body, "subsystem": "connector-runtime"}, format="json"
    )
    assert other.status_code == 403
    assert other.json()["errors"][0]["code"] == "insufficient_scope"
    own = token.post("/api/v1/waivers/", {**body, "subsystem": "control-plane"}, format="json")
    assert own.status_code == 201, own.content
