"""An engineer submits through the form; an operator watches the rollout move live."""

import pytest
from playwright.sync_api import Page, expect

from wedges.models import ChangeProposal

pytestmark = pytest.mark.django_db(transaction=True)


def test_engineer_fixes_a_validation_error_and_submits(page: Page, live_server, sign_in):
    sign_in(page, "alice")
    page.get_by_role("button", name="New proposal").click()
    page.get_by_label("Title").fill("Faster connector handshakes")
    page.get_by_label("Change type").select_option("connector_deployment")
    page.get_by_label("Subsystem").select_option("connector-runtime")
    page.get_by_label("Initial exposure (%)").fill("5")
    page.get_by_label("Max blast radius (%)").fill("100")
    page.get_by_label("Observation window (hours)").fill("1")
    page.get_by_label("Number of stages").fill("3")
    page.get_by_role("button", name="Generate stages from the increment policy").click()
    expect(page.locator('input[name="stages-2-target_percentage"]')).to_have_value("100")
    for row in range(3):
        page.locator(f'textarea[name="stages-{row}-success_criteria"]').fill("error_rate < 0.01")
        page.locator(f'input[name="stages-{row}-rollback_trigger"]').fill("error_rate > 0.05")
    # A first stage above 25 % is an error, shown next to its input as we type.
    page.locator('input[name="stages-0-target_percentage"]').fill("30")
    page.locator('input[name="stages-0-target_percentage"]').press("Tab")  # touched
    stage_error = page.locator("#err-stages-0-target_percentage")
    expect(stage_error).to_contain_text("The first stage may expose at most 25 %.")
    expect(stage_error.locator('[data-code="first_stage_too_large"]')).to_have_count(1)
    expect(page.locator("#validation")).to_contain_text("problem")
    page.locator('input[name="stages-0-target_percentage"]').fill("5")
    expect(stage_error).to_be_empty()
    expect(page.locator("#validation")).to_contain_text("The wedge is valid.")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_text("was submitted")).to_be_visible()
    proposal = ChangeProposal.objects.get(title="Faster connector handshakes")
    assert [s.target_percentage for s in proposal.rollout_wedge.stages.all()] == [5, 50, 100]
    assert page.url.endswith(f"/proposals/{proposal.pk}/")


def test_operator_starts_and_the_page_follows_metrics_without_reload(
    page: Page, live_server, sign_in, submit, token_client
):
    proposal = submit(
        "alice",
        title="Live rollout",
        rollout_wedge={"observation_window_hours": 1, "initial_percentage": 10},
    )
    sign_in(page, "dave")
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    page.get_by_role("button", name="Start the rollout").click()
    dialog = page.get_by_role("dialog", name="Start the rollout?")
    dialog.get_by_label("Reason").fill("Change window open")
    dialog.get_by_role("button", name="Start at 10 %").click()
    expect(page.get_by_test_id("wedge-state")).to_have_text("Active")
    expect(page.get_by_test_id("stage-id")).to_contain_text("canary")
    page.evaluate("window.__marker = 'same page'")
    # A breaching snapshot through the API: the page shows the rollback by itself.
    response = token_client("alice").post(
        f"/api/v1/proposals/{proposal.pk}/metrics/", {"metrics": {"error_rate": 0.5}}, format="json"
    )
    assert response.json()["wedge_state"] == "ROLLED_BACK"
    expect(page.get_by_test_id("wedge-state")).to_have_text("Rolled back", timeout=10_000)
    expect(page.get_by_test_id("exposure")).to_have_text("0 %")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    expect(page.get_by_role("button", name="Start the rollout")).to_have_count(0)
