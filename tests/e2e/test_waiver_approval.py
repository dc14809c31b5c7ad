"""A section lead and a reviewer approve a waiver in the browser; the covered
single-stage proposal can then start."""

import pytest
from playwright.sync_api import Page, expect

from waivers.models import WaiverRequest
from waivers.services import waiver_request

pytestmark = pytest.mark.django_db(transaction=True)

ONE_STAGE = {
    "wedge_stages": [
        {
            "stage_id": "everywhere",
            "target_percentage": 90,
            "duration_hours": 1,
            "success_criteria": ["error_rate < 0.01"],
            "rollback_trigger": "error_rate > 0.05",
        }
    ]
}


def approve(page: Page, live_server, waiver_id: int, comment: str) -> None:
    page.goto(f"{live_server.url}/waivers/{waiver_id}/")
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Approve", exact=True).click()


def test_lead_and_reviewer_approve_a_waiver(browser, live_server, sign_in, submit, demo):
    proposal = submit("alice", title="Emergency TLS fix", rollout_wedge=ONE_STAGE)
    assert proposal.waiver_required
    waiver = waiver_request(
        requester=demo["alice"],
        rationale="One-line TLS fix, fleet-wide at once.",
        duration_days=30,
        proposal=proposal,
    )
    lead = sign_in(browser.new_page(), "bob")
    approve(lead, live_server, waiver.pk, "Lead: fine for this fix.")
    expect(lead.get_by_text("Awaiting second approval").first).to_be_visible()

    reviewer = sign_in(browser.new_page(), "carol")
    reviewer.goto(f"{live_server.url}/waivers/inbox/")
    reviewer.get_by_role("link", name=f"#{waiver.pk}").first.click()
    reviewer.get_by_label("Comment").fill("Reviewer: agreed.")
    reviewer.get_by_role("button", name="Approve", exact=True).click()
    expect(reviewer.get_by_text("Approved").first).to_be_visible()

    waiver.refresh_from_db()
    assert waiver.state == "APPROVED"
    assert sorted(waiver.approvals.values_list("approver__username", "role")) == [
        ("bob", "lead"),
        ("carol", "reviewer"),
    ]
    operator = sign_in(browser.new_page(), "dave")
    operator.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    operator.get_by_role("button", name="Start the rollout").click()
    operator.get_by_role("dialog").get_by_role("button", name="Start at 5 %").click()
    expect(operator.get_by_test_id("wedge-state")).to_have_text("Active")
    assert WaiverRequest.objects.get(pk=waiver.pk).covered_proposals.get() == proposal
