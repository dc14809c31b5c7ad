"""The proposal page lists the clusters gating it; an operator detaches one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from gates.models import CanaryBinding
from tests.gates.conftest import Flagger
from wedges.services import rollout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_clusters(demo, submit):
    from org.models import Subsystem
    from org.tokens import token_issue

    key = token_issue(
        owner=demo["pipeline"],
        actor=demo["admin"],
        name="gates",
        scopes=["desired-state:read", "metrics:write"],
        subsystems=[Subsystem.objects.get(slug="connector-runtime")],
    ).key
    proposal = submit("alice", external_reference="test/podinfo")
    now = timezone.now()
    rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=now - timedelta(minutes=5))
    east, west = Flagger(key, "us-east-1"), Flagger(key, "eu-west-1")
    for canary in (east, west):
        assert (
            canary.call("confirm-traffic-increase", now - timedelta(minutes=4)).status_code == 200
        )
    east.call("rollout", now - timedelta(minutes=1))
    west.event(now - timedelta(minutes=2), "Advance podinfo.test canary weight 5")
    return proposal


def no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_the_clusters_and_their_last_call_on_the_page(
    page: Page, live_server, sign_in, two_clusters
):
    proposal = two_clusters
    sign_in(page, "dave")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
        section = page.locator("#canaries")
        expect(section.get_by_role("heading", name="Clusters")).to_be_visible()
        expect(section.locator("tbody tr")).to_have_count(2)
        east = section.locator("tr", has_text="us-east-1")
        expect(east).to_contain_text("test/podinfo")
        expect(east).to_contain_text("healthy")
        expect(east).to_contain_text("rollout")
        west = section.locator("tr", has_text="eu-west-1")
        expect(west).to_contain_text("Last event: Advance podinfo.test canary weight 5")
        section.scroll_into_view_if_needed()
        page.screenshot(path=f"test-results/proposal-clusters-{width}.png", full_page=True)
        section.screenshot(path=f"test-results/proposal-clusters-section-{width}.png")
        no_horizontal_overflow(page)


def test_an_operator_detaches_a_cluster(page: Page, live_server, sign_in, two_clusters):
    proposal = two_clusters
    sign_in(page, "dave")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    row = page.locator("#canaries tr", has_text="eu-west-1")
    row.get_by_role("button", name="Detach").click()
    row.get_by_label("Reason (kept in the audit trail)").fill("cluster retired")
    row.get_by_role("button", name="Stop waiting for this canary").click()
    expect(page.get_by_text("no longer waits for eu-west-1: test/podinfo")).to_be_visible()
    expect(page.locator("#canaries tr", has_text="eu-west-1")).to_contain_text("detached")
    assert CanaryBinding.objects.get(cluster="eu-west-1").detached_at is not None
    assert AuditEvent.objects.get(code="WDG-705").reason == "cluster retired"


def test_an_engineer_sees_the_clusters_but_no_detach(
    page: Page, live_server, sign_in, two_clusters
):
    proposal = two_clusters
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(page.locator("#canaries tbody tr")).to_have_count(2)
    expect(page.locator("#canaries").get_by_role("button", name="Detach")).to_have_count(0)
