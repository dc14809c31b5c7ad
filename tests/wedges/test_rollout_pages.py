"""The dashboard, the live proposal page and its operator controls."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from tests.documents import PROPOSAL
from wedges import selectors
from wedges.metrics import validate_metrics
from wedges.models import RolloutWedge
from wedges.services import wedge_record_snapshot, wedge_start
from wedges.status import rollout_status

from .bulk import bulk_proposals

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}


@pytest.fixture
def running(submit, demo):
    proposal = submit("alice", title="Pool connections")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": HEALTHY}),
        actor=demo["alice"],
        now=T0 + timedelta(minutes=10),
    )
    return proposal


def signed_in(client, demo, username):
    client.force_login(demo[username])
    return client


def test_dashboard_shows_each_running_wedge_with_its_gates(client, demo, running, submit):
    submit("alice", title="Still pending")
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        response = signed_in(client, demo, "alice").get("/")
    assertContains(response, "Pool connections")
    assertNotContains(response, "Still pending")
    html = response.content.decode()
    assert "Initial hold before stage 1 of 3" in html
    assert "20 min of a 1 h window" in html
    assert 'class="criterion met"' in html
    assert "error_rate 0.001" in html
    # The window's end (= the planned duration's end), in words and in UTC.
    assert "in 40 min (10:00 UTC)" in html


def test_dashboard_marks_manual_wedges_awaiting_approval(client, demo, submit):
    proposal = submit("alice", rollout_wedge={"increment_policy": "manual"})
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=HEALTHY, actor=demo["alice"], now=T0 + timedelta(hours=1)
    )
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        assertContains(signed_in(client, demo, "dave").get("/"), "Awaiting approval")
        inbox = client.get("/proposals/approvals/")
    assertContains(inbox, f"#{proposal.pk}")


@pytest.mark.parametrize(
    ("policy", "may_advance"),
    [
        ("manual", T0 + timedelta(hours=1)),  # the window's end: then an operator may approve
        ("linear", T0 + timedelta(hours=3)),  # the planned duration, longer than the window
    ],
)
def test_when_a_stage_may_advance_next(client, demo, submit, policy, may_advance):
    stages = copy.deepcopy(PROPOSAL["rollout_wedge"]["wedge_stages"])
    for stage in stages:
        stage["duration_hours"] = 3
    proposal = submit("alice", rollout_wedge={"increment_policy": policy, "wedge_stages": stages})
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    moment = T0 + timedelta(minutes=20)
    wedge = selectors.running_wedges(demo["dave"]).get(proposal=proposal)
    assert rollout_status(wedge, moment).next_advance_at == may_advance
    with time_machine.travel(moment, tick=False):
        response = signed_in(client, demo, "dave").get("/")
    assertContains(response, f'<time datetime="{may_advance.isoformat()}"')


def test_operator_sees_controls_and_others_do_not(client, demo, running):
    page = signed_in(client, demo, "dave").get(f"/proposals/{running.pk}/")
    for label in ("Pause", "Roll back"):
        assertContains(page, label)
    # Offered only what the state machine and the policy would accept: the stage
    # is inside its observation window, so there is nothing to approve.
    for label in ("Start the rollout", "Approve the advance", "Advance now"):
        assertNotContains(page, label)
    client.logout()
    for username in ("alice", "erin", "carol", "frank"):
        page = signed_in(client, demo, username).get(f"/proposals/{running.pk}/")
        assertNotContains(page, 'id="reason-rollback"')


@pytest.mark.parametrize("username", ["alice", "erin", "frank"])
def test_posting_an_action_without_the_right_is_403(client, demo, running, username):
    response = signed_in(client, demo, username).post(
        f"/proposals/{running.pk}/rollback/", {"reason": "x"}
    )
    assert response.status_code == 403
    assert RolloutWedge.objects.get(proposal=running).wedge_state == "ACTIVE"


def test_operator_action_with_reason_and_refusal_message(client, demo, running):
    client = signed_in(client, demo, "dave")
    response = client.post(f"/proposals/{running.pk}/advance/", {"reason": "now"}, follow=True)
    assertContains(response, "Refused: Stage &#x27;initial&#x27; is not eligible to advance")
    response = client.post(
        f"/proposals/{running.pk}/rollback/", {"reason": "bad canary"}, follow=True
    )
    assertContains(response, "The rollout was rolled back.")
    assert RolloutWedge.objects.get(proposal=running).exposure_percentage == 0
    assertContains(response, "bad canary")  # in the proposal's audit trail


def test_unknown_action_is_404(client, demo, running):
    assert (
        signed_in(client, demo, "dave").post(f"/proposals/{running.pk}/explode/").status_code == 404
    )


def test_live_partial_carries_chart_data_and_swaps_controls_on_state_change(client, demo, running):
    client = signed_in(client, demo, "dave")
    same = client.get(f"/proposals/{running.pk}/live/?state=ACTIVE&actions=pause,rollback")
    assert 'id="controls"' not in same.content.decode()
    assert 'id="messages"' not in same.content.decode()
    chart = json.loads(
        same.content.decode()
        .split('id="chart-data" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert [point["y"] for point in chart["exposure"]][:1] == [5.0]
    assert {m["name"] for m in chart["metrics"]} == {"error_rate", "p99"}
    p99 = next(m for m in chart["metrics"] if m["name"] == "p99")
    assert p99["unit"] == "ms"
    assert p99["points"][0]["y"] == 150
    assert chart["range"]["start"] == chart["exposure"][0]["x"]
    assert p99["criteria"][0]["y"] == 200
    assert p99["triggers"][0]["y"] == 500
    changed = client.get(f"/proposals/{running.pk}/live/?state=PENDING&actions=start")
    html = changed.content.decode()
    assert (
        'id="controls" class="controls" aria-label="Operator controls" hx-swap-oob="true"' in html
    )
    # Messages about the state the page was showing no longer hold.
    assert '<div id="messages" hx-swap-oob="true"></div>' in html


def test_my_proposals_filter(client, demo, submit):
    submit("alice", title="Alice's change")
    submit("pipeline", title="Pipeline's change")
    response = signed_in(client, demo, "alice").get("/proposals/", {"mine": "true"})
    assertContains(response, "Alice&#x27;s change")
    assertNotContains(response, "Pipeline&#x27;s change")


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_pages_keep_a_constant_number_of_queries_with_10000_proposals(client, demo, running):
    client = signed_in(client, demo, "erin")
    urls = [
        "/",
        "/proposals/",
        f"/proposals/{running.pk}/",
        f"/proposals/{running.pk}/live/?state=ACTIVE&actions=pause,rollback",
        "/api/v1/proposals/",
    ]
    few = {url: count_queries(client, url) for url in urls}
    bulk_proposals(10_000, author=demo["alice"])
    many = {url: count_queries(client, url) for url in urls}
    assert many == few
