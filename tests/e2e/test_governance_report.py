"""The governance report in Chromium: at desk and phone widths, and printed to PDF."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from tests.governance.conftest import builder, quarter4, utc  # noqa: F401 - the fixtures

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = os.environ.get("WEDGE_SCREENSHOTS")  # a directory: keep the pictures to look at


def open_report(page: Page, live_server, width: int) -> Page:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/reports/governance/?quarter=2026Q4")
    expect(
        page.get_by_role("heading", name="Do the wedges work? The last four quarters")
    ).to_be_visible()
    # Chart.js drew both trend charts (their canvases have a size).
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && "
        "Chart.getChart('trend-incidents-chart') && Chart.getChart('trend-shares-chart')"
    )
    return page


@pytest.mark.usefixtures("quarter4")
@pytest.mark.parametrize("width", [1366, 390])
def test_the_report_fits_the_screen(browser, live_server, sign_in, width):
    page = open_report(sign_in(browser.new_page(), "erin"), live_server, width)
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width, f"the page is {overflow} px wide at {width} px"
    expect(page.get_by_text("The rollback SLO as measured")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/governance-{width}.png", full_page=True)
        page.locator("#effectiveness").screenshot(path=f"{SHOTS}/effectiveness-{width}.png")


@pytest.mark.usefixtures("quarter4")
def test_the_report_prints_to_pdf(browser, live_server, sign_in):
    page = open_report(sign_in(browser.new_page(), "erin"), live_server, 1366)
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    # Print shows the report alone: no site navigation, no quarter picker, every detail open.
    expect(page.locator("body > header")).to_be_hidden()
    expect(page.locator("nav.quarter-nav")).to_be_hidden()
    assert page.evaluate("() => [...document.querySelectorAll('details')].every(d => d.open)")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/governance-print.png", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 20_000
    if SHOTS:
        with open(f"{SHOTS}/governance.pdf", "wb") as out:
            out.write(pdf)


@pytest.mark.parametrize("width", [1366, 390])
def test_an_operator_checks_an_incident_export_in_the_browser(
    browser, live_server, sign_in, request, width, tmp_path
):
    build = request.getfixturevalue("builder")
    running = build.submit(utc(2026, 11, 20, 8))
    build.start(running, utc(2026, 11, 20, 8, 30))
    export = tmp_path / "pagerduty.csv"
    export.write_text(
        "Incident Number,Title,Priority,Created At,Affected %,Service\n"
        "PD-7,Connector errors,P2,2026-11-20T09:00:00Z,3,connector-runtime\n"
        "PD-8,Timeouts,urgent,2026-11-20T09:05:00,2,connector-runtime\n"
    )
    page = sign_in(browser.new_page(), "dave")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/reports/incidents/import/")
    page.get_by_label("CSV export").set_input_files(str(export))
    page.get_by_label("Source").fill("pagerduty")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-summary")).to_have_text(
        "1 created, 0 updated, 0 unchanged, 1 refused (dry run: nothing written)."
    )
    expect(page.get_by_text(f"PD-7 -> proposal #{running.pk} (linked by time)")).to_be_visible()
    expect(page.get_by_text("Column Priority: severity is SEV1 to SEV4")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/import-{width}.png", full_page=True)
