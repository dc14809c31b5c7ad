"""The governance report in Chromium: at desk and phone widths, and printed to PDF."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from tests.governance.conftest import builder, quarter4  # noqa: F401 - the known quarter

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
