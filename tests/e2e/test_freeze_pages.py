"""A section lead declares a freeze in the browser; the dashboard, the proposal page and
the governance report show it, at 1366 px and 390 px, without spilling off the screen.

With WEDGE_SCREENS_DIR set, the pages are saved there as screenshots.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.layout import settled_scroll_width

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = (1366, 390)
SCREENS = os.environ.get("WEDGE_SCREENS_DIR", "")


def fits(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = settled_scroll_width(page, width)
        assert scroll <= width, f"{name}: {scroll} px wide at {width} px"
        if SCREENS:
            page.screenshot(path=str(Path(SCREENS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_a_lead_declares_a_freeze_and_every_page_shows_it(live_server, sign_in, page, submit):
    proposal = submit("alice")
    sign_in(page, "bob")
    page.goto(f"{live_server.url}/freezes/")
    fits(page, "freezes-empty")
    page.get_by_label("Reason").fill("Incident 42: database failover")
    now = timezone.now()
    page.get_by_label("Starts (UTC)").fill(now.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends (UTC)").fill((now + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Connector runtime (Platform)").check()
    page.get_by_role("button", name="Declare the freeze").click()
    expect(page.get_by_text("declared: from")).to_be_visible()
    expect(page.get_by_role("cell", name="In force")).to_be_visible()
    fits(page, "freezes")

    page.goto(f"{live_server.url}/")
    banner = page.get_by_role("region", name="Change freezes")
    expect(banner).to_contain_text("Incident 42: database failover")
    expect(banner).to_contain_text("Connector runtime")
    fits(page, "dashboard-freeze")

    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(page.get_by_role("status").filter(has_text="Frozen until")).to_contain_text(
        "it will not start or advance unless a waiver covers it"
    )
    fits(page, "proposal-frozen")

    page.goto(f"{live_server.url}/reports/governance/")
    expect(page.get_by_role("region", name="Change freezes")).to_contain_text("Incident 42")
    fits(page, "report-freezes")

    page.goto(f"{live_server.url}/freezes/")
    page.get_by_role("button", name="End it now").click()
    expect(page.get_by_role("cell", name="Ended early")).to_be_visible()
