"""Under the Content-Security-Policy the pages' scripts still run, and nothing is refused."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from wedges.metrics import validate_metrics
from wedges.services import wedge_record_snapshot, wedge_start

pytestmark = pytest.mark.django_db(transaction=True)

# Injected by the browser itself, so the policy does not apply to it.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    """The page, and every console error and page error it logs."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico by itself; the site has none.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.add_init_script(WATCH_VIOLATIONS)
    return page, errors


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations")
    return found


def test_the_proposal_page_draws_its_charts(
    watched: tuple[Page, list[str]], live_server: Any, sign_in: Any, submit: Any, demo: Any
) -> None:
    page, errors = watched
    proposal = submit("alice", title="Charted rollout")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": {"error_rate": 0.002, "p99": "150ms"}}),
        actor=demo["alice"],
    )
    sign_in(page, "dave")
    response = page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_function("() => window.Chart && Chart.getChart('exposure-chart')")
    drawn = page.evaluate("Chart.getChart('exposure-chart').data.datasets[0].data.length")
    assert drawn >= 1
    # One small chart per metric, on the exposure chart's time axis.
    metric_charts = page.locator("#metric-charts canvas")
    expect(metric_charts).to_have_count(2)
    axes = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas')).map((canvas) => {
            const chart = Chart.getChart(canvas);
            return [chart.scales.x.min, chart.scales.x.max];
        })"""
    )
    assert len({tuple(axis) for axis in axes}) == 1
    assert violations(page) == []
    assert errors == []


def test_the_proposal_form_scripts_and_htmx_run(
    watched: tuple[Page, list[str]], live_server: Any, sign_in: Any
) -> None:
    page, errors = watched
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/proposals/new/")
    rows = page.locator("[data-stage-row]:visible")
    before = rows.count()
    page.get_by_role("button", name="Add a stage").click()  # static/js/proposal_form.js
    expect(rows).to_have_count(before + 1)
    page.get_by_label("Title").fill("Under a strict policy")  # htmx: live validation
    expect(page.locator("#validation")).not_to_be_empty()
    assert violations(page) == []
    assert errors == []


def test_the_api_docs_render(
    watched: tuple[Page, list[str]], live_server: Any, sign_in: Any
) -> None:
    page, errors = watched
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("Wedge API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations(page) == []
    assert errors == []


def test_signing_in_and_the_token_page_refuse_nothing(
    watched: tuple[Page, list[str]], live_server: Any, sign_in: Any
) -> None:
    page, errors = watched
    sign_in(page, "alice")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("proposals:write — Submit and dry-run proposals").check()
    page.get_by_role("button", name="Create token").click()
    key = page.get_by_test_id("new-key")
    expect(key).to_be_visible()
    assert key.input_value().startswith("wdg_")
    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.get_by_text("revoked: its key no longer works")).to_be_visible()
    assert violations(page) == []
    assert errors == []
