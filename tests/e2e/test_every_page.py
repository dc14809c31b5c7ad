"""Every page, for every role, at 1366 px and 390 px: it fits the screen, it speaks in
words (no Python dicts, ISO timestamps, enum values or rule codes), and axe-core finds
no serious or critical accessibility violation. Then the moments that matter: a breach
turning the page red as it happens, the form's error summary and focus, removed stage
rows staying removed, and destructive actions asking first.

One live server and one seeded organisation (`seed_demo`: a rollout in each state, a
waiver half approved) serve the whole module, so the sweep costs page loads, not set-up;
the tables are emptied when the module ends. `make screens` runs the screenshot test at
the end with WEDGE_SCREENS_DIR set, writing docs/screens/.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pgtrigger
import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from org.demo import DEMO_PASSWORD
from org.models import User
from tests.conftest import _flush_as_owner
from tests.documents import PROPOSAL
from tests.e2e.layout import settled_scroll_width
from waivers.demo import DEMO_KEY
from waivers.models import WaiverRequest
from wedges.demo import DEMO_REFERENCE
from wedges.models import ChangeProposal, ChangeType, State
from wedges.policy import codes
from wedges.services import proposal_submit
from wedges.submission import check_submission

ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "static" / "vendor" / "axe.min.js").read_text()
WIDTHS = (1366, 390)
STATES = ("PENDING", "ACTIVE", "PAUSED", "ROLLED_BACK", "COMPLETE")

# What must never reach a page as text.
RAW = [
    (re.compile(r"\{'[^']*':"), "a Python dict"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"), "an ISO timestamp"),
    (
        re.compile(r"\b(?:" + "|".join(state.value for state in State) + r"|PARTIALLY_APPROVED)\b"),
        "a state's code",
    ),
    (re.compile(r"\b(?:" + "|".join(ChangeType.values) + r")\b"), "a change type's code"),
    (
        re.compile(
            r"\b(?:" + "|".join(sorted(codes.VALIDATION_ERROR_CODES - {"required"})) + r")\b"
        ),
        "a validation code",
    ),
    (re.compile(r"INV-RWG-|RWG-PAUSE-3X|\bRule: "), "a rule code"),
]
# The page's own text, as written (CSS may upper-case a state): scripts, styles and
# templates left out.
PAGE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      return node.parentElement.closest('script, style, noscript, template')
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
    },
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts;
}"""
# A text that is nothing but one of these is a value printed as it is in Python or JSON.
LITERALS = {"None", "True", "False", "null", "undefined", "NaN", "[]", "{}"}
# Chart.js follows a resize on the next animation frames; measure after it has.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' at '
      + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
}"""


@dataclass
class Site:
    url: str
    proposals: dict[str, int]  # by state
    waiver: int
    contexts: dict[str, BrowserContext] = field(default_factory=dict)


def _flush() -> None:
    """Empty the tables the module filled, as a transactional test's teardown does."""
    with _flush_as_owner(), pgtrigger.ignore("audit.AuditEvent:protect_truncate"):
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any, browser: Browser) -> Iterator[Site]:
    # The server answers each request on a thread of its own, which would keep its
    # database connection open for reuse: closed after each request instead, none is
    # left behind to hold up dropping the test database.
    database = connections.settings[DEFAULT_DB_ALIAS]
    reuse = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        demo = ChangeProposal.objects.filter(external_reference__startswith=DEMO_REFERENCE)
        by_state = {p.rollout_wedge.wedge_state: p.pk for p in demo.select_related("rollout_wedge")}
        waiver = WaiverRequest.objects.get(proposal__external_reference=DEMO_KEY)
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        built = Site(server.url, by_state, waiver.pk)
        try:
            yield built
        finally:
            for context in built.contexts.values():
                context.close()
            server._live_server_modified_settings.disable()
            server.stop()
            database["CONN_MAX_AGE"] = reuse
            _flush()
            # As a transactional test case does after its flush: the owner's
            # connection (the flush's post_migrate checks the grants) would otherwise
            # stay open and hold up dropping the test database.
            connections.close_all()


def signed_in(site: Site, browser: Browser, username: str) -> Page:
    """A page of ``username``'s own browser context, signed in once for the module."""
    if username not in site.contexts:
        context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
        page = context.new_page()
        if username != "anonymous":
            page.goto(f"{site.url}/accounts/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{site.url}/")
        site.contexts[username] = context
    context = site.contexts[username]
    return context.pages[0] if context.pages else context.new_page()


def pages_of(site: Site, username: str) -> list[tuple[str, int]]:
    """Every page ``username`` can reach from the navigation and the pages it links to,
    with the status it answers; the refusal and not-found pages too."""
    if username == "anonymous":
        return [("/accounts/login/", 200), *errors_of(username)]
    # The operator and the engineer see every state of the proposal page; the other
    # roles, which see the same page with less on it, three of them.
    states = STATES if username in ("dave", "alice") else ("PENDING", "PAUSED", "ROLLED_BACK")
    proposals = [f"/proposals/{site.proposals[state]}/" for state in states]
    user = User.objects.get(username=username)
    pages = ["/", "/proposals/", *proposals, "/waivers/", f"/waivers/{site.waiver}/", "/audit/"]
    pages.append("/freezes/")
    pages.append("/account/tokens/")
    pages.append("/policy/")
    if user.has_perm("org.act_as_engineer"):
        pages += ["/proposals/new/", "/waivers/new/"]
    if user.has_perm("org.operate_rollouts") or user.has_perm("org.operate_section_rollouts"):
        pages += ["/proposals/approvals/", "/reports/incidents/import/"]
    if user.has_perm("org.view_all"):
        pages.append("/reports/governance/")
    if user.has_perm("org.review_waivers") and not user.is_superuser:
        pages.append("/waivers/inbox/")
    return [(path, 200) for path in pages] + errors_of(username)


def errors_of(username: str) -> list[tuple[str, int]]:
    """Pages that refuse: a not-found proposal, and for an engineer the report (403)."""
    if username == "anonymous":
        return []
    refused = [("/reports/governance/", 403)] if username == "alice" else []
    return [("/proposals/999999/", 404), *refused]


def problems_with(page: Page) -> list[str]:
    found = []
    width = page.viewport_size["width"] if page.viewport_size else 0
    scroll = settled_scroll_width(page, width)
    if scroll > width:
        wide = page.evaluate(
            """(width) => Array.from(document.querySelectorAll('body *'))
                .filter((e) => e.getBoundingClientRect().right > width + 1)
                .slice(0, 3).map((e) => e.tagName + '.' + e.className)""",
            width,
        )
        found.append(f"{scroll} px wide on a {width} px screen ({', '.join(wide)})")
    parts: list[str] = page.evaluate(PAGE_TEXT)
    found += [f"a bare value: {part.strip()!r}" for part in parts if part.strip() in LITERALS]
    text = " ".join(parts)
    for pattern, what in RAW:
        if match := pattern.search(text):
            start = max(match.start() - 40, 0)
            found.append(f"{what}: …{text[start : match.end() + 40]}…")
    return found


ROLES = ["alice", "bob", "frank", "carol", "dave", "erin", "admin", "anonymous"]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_fits_and_speaks_in_words(site: Site, browser: Browser, username: str):
    page = signed_in(site, browser, username)
    paths = pages_of(site, username)
    failures: list[str] = []
    widths = list(WIDTHS)
    for path, status in paths:
        # Every script of a page runs before DOMContentLoaded (deferred or at the end).
        response = page.goto(f"{site.url}{path}", wait_until="domcontentloaded")
        assert response is not None
        if response.status != status:
            failures.append(f"{path}: HTTP {response.status}, not {status}")
            continue
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            failures += [f"{path} at {width} px: {problem}" for problem in problems_with(page)]
        widths.reverse()  # the next page starts at the width this one ended with
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    assert failures == []


def test_navigation_offers_only_what_each_role_may_open(site: Site, browser: Browser):
    offered = {}
    for username in ("alice", "carol", "dave", "erin"):
        page = signed_in(site, browser, username)
        page.goto(f"{site.url}/")
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        offered[username] = [text.strip() for text in links.all_inner_texts()]
    assert "Reports" not in offered["alice"]
    assert "Approvals" not in offered["alice"]
    assert "Reports" in offered["erin"]
    assert "Approvals" in offered["dave"]
    for username, labels in offered.items():
        page = signed_in(site, browser, username)
        for label in labels:
            link = page.get_by_role("navigation", name="Main").get_by_role("link", name=label)
            href = link.get_attribute("href")
            assert page.request.get(f"{site.url}{href}").status == 200, (username, label)
    # Reviewers and auditors submit nothing: no "My proposals" on their dashboard.
    page = signed_in(site, browser, "carol")
    page.goto(f"{site.url}/")
    expect(page.get_by_role("link", name="My proposals")).to_have_count(0)


def test_every_page_passes_axe(site: Site, browser: Browser):
    """Each distinct page once, as the role that sees the most of it; the proposal pages
    and the form on a phone too."""
    visits = {path: "dave" for path, _ in pages_of(site, "dave")}
    # The waiver pages as a reviewer sees them (with the forms to decide), signing in
    # as nobody, and the refusal and not-found pages.
    visits |= {f"/waivers/{site.waiver}/": "carol", "/waivers/inbox/": "carol"}
    # The policy page as a section lead who may approve the demo's change (bob proposed it).
    visits["/policy/"] = "frank"
    visits |= {path: user for user in ("anonymous", "alice") for path, _ in errors_of(user)}
    failures: list[str] = []
    phone = {f"/proposals/{site.proposals['ROLLED_BACK']}/", "/proposals/new/", "/", "/policy/"}
    for path, username in visits.items():
        page = signed_in(site, browser, username)
        for width in WIDTHS if path in phone else WIDTHS[:1]:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{site.url}{path}")
            page.evaluate(AXE)
            failures += [f"{path} ({username}, {width} px): {v}" for v in page.evaluate(AXE_RUN)]
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    assert failures == []


def submitted(title: str) -> ChangeProposal:
    """A fresh proposal of alice's: 10 % canary first, through the real submission."""
    body = copy.deepcopy(PROPOSAL)
    body["title"] = title
    body["rollout_wedge"]["initial_percentage"] = 10
    check = check_submission(body)
    assert check.valid, check.to_dict()
    return proposal_submit(check=check, author=User.objects.get(username="alice")).proposal


def test_a_breach_turns_the_page_red_while_it_is_open(site: Site, browser: Browser):
    dave = User.objects.get(username="dave")
    proposal = submitted("Breached while watched")
    page = signed_in(site, browser, "dave")
    page.goto(f"{site.url}/proposals/{proposal.pk}/")
    page.get_by_role("button", name="Start the rollout").click()
    page.get_by_role("dialog", name="Start the rollout?").get_by_role("button").last.click()
    expect(page.get_by_test_id("wedge-state")).to_have_text("Active")
    expect(page.get_by_text("The rollout was started.")).to_be_visible()
    page.evaluate("window.__marker = 'same page'")

    agent = APIClient()
    agent.force_authenticate(dave)
    answer = agent.post(
        f"/api/v1/proposals/{proposal.pk}/metrics/",
        {"metrics": {"error_rate": 0.09, "p99": "180ms"}},
        format="json",
    )
    assert answer.json()["wedge_state"] == "ROLLED_BACK"

    header = page.get_by_test_id("status-header")
    expect(page.get_by_test_id("wedge-state")).to_have_text("Rolled back", timeout=10_000)
    expect(header).to_have_class(re.compile(r"\bstatus-rolled-back\b"))
    expect(page.get_by_test_id("status-cause")).to_contain_text(
        "by Wedge, automatically: error_rate 0.09 > 0.05 (rollback trigger of stage canary)."
    )
    expect(page.get_by_test_id("status-told")).to_contain_text("go back to 0 %")
    expect(page.get_by_test_id("exposure")).to_have_text("0 %")
    stepper = page.get_by_test_id("stepper")
    failed = stepper.locator('[data-status="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Rolled back here")
    expect(failed).to_contain_text("canary")
    expect(stepper.locator('[data-status="current"]')).to_have_count(0)
    expect(stepper.locator('[data-status="not-reached"]')).to_have_count(2)
    # What no longer holds is gone, and nothing offers to act on a finished rollout.
    expect(page.get_by_text("The rollout was started.")).to_have_count(0)
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    assert page.evaluate("window.__marker") == "same page"
    assert wedge_state(proposal) == State.ROLLED_BACK


def wedge_state(proposal: ChangeProposal) -> str:
    proposal.rollout_wedge.refresh_from_db()
    return proposal.rollout_wedge.wedge_state


def test_rolling_back_is_red_and_asks_first(site: Site, browser: Browser):
    proposal = ChangeProposal.objects.get(pk=site.proposals["ACTIVE"])
    page = signed_in(site, browser, "dave")
    page.goto(f"{site.url}/proposals/{proposal.pk}/")
    button = page.get_by_role("button", name="Roll back…")
    colour = button.evaluate("(b) => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(185, 28, 28)"
    button.click()
    dialog = page.get_by_role("dialog", name="Roll the rollout back?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert wedge_state(proposal) == State.ACTIVE


def live_validation_settled(page: Page) -> None:
    """Until the proposal form's live validation has answered the last change.

    Its answer changes the page's height, and a button that moves between a
    click's mousedown and mouseup loses the click: a test clicks once it has
    landed. The form asks a set delay after the last keystroke (its
    ``hx-trigger``); then no request, swap or settle is under way.
    """
    trigger = page.locator("#proposal-form").get_attribute("hx-trigger") or ""
    delay = re.search(r"delay:(\d+)ms", trigger)
    page.wait_for_timeout((int(delay.group(1)) if delay else 0) + 50)
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def fill_some_of_the_form(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/proposals/new/")
    page.get_by_role("button", name="Add a stage").click()  # while nothing is being validated
    page.get_by_label("Title").fill("Faster handshakes")
    page.get_by_label("Subsystem").select_option("control-plane")
    for row, (stage_id, target) in enumerate([("canary", "5"), ("half", "50"), ("all", "100")]):
        page.locator(f'input[name="stages-{row}-stage_id"]').fill(stage_id)
        page.locator(f'input[name="stages-{row}-target_percentage"]').fill(target)
    live_validation_settled(page)


def test_the_form_shows_errors_where_touched_then_all_with_a_summary(site: Site, browser: Browser):
    page = signed_in(site, browser, "alice")
    fill_some_of_the_form(page, site)
    initial = page.get_by_label("Initial exposure (%)")
    initial.fill("20")
    initial.press("Tab")
    # The limits of the chosen subsystem, and an error only where the person has been.
    expect(page.locator("#id_initial_percentage_help")).to_contain_text(
        "Control plane is critical: at most 10 %"
    )
    expect(page.locator("#err-initial_percentage")).to_contain_text(
        "On a critical subsystem the initial exposure may be at most 10 %."
    )
    expect(initial).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-change_type")).to_be_hidden()
    expect(page.get_by_label("Change type")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-untouched]")).to_contain_text("for fields you have not filled in")

    live_validation_settled(page)
    page.get_by_role("button", name="Submit proposal").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("The proposal was not submitted")
    expect(summary.get_by_role("link", name="Change type")).to_be_visible()
    expect(summary).to_contain_text("Choose the type of change.")
    # The first field in error has the focus, and every field in error says so.
    first = page.get_by_label("Change type")
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-change_type")).to_be_visible()
    # A link of the summary takes the person to the field.
    summary.get_by_role("link", name="Max blast radius (%)").click()
    expect(page.get_by_label("Max blast radius (%)")).to_be_focused()
    assert ChangeProposal.objects.filter(title="Faster handshakes").count() == 0


def test_a_removed_stage_stays_removed_after_a_refused_submit(site: Site, browser: Browser):
    page = signed_in(site, browser, "alice")
    fill_some_of_the_form(page, site)
    page.get_by_role("button", name="Remove stage 2").click()
    rows = page.locator("[data-stage-list] [data-stage-row]:visible")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator('input[name$="stage_id"]')).to_have_value("canary")
    expect(rows.nth(1).locator('input[name$="stage_id"]')).to_have_value("all")
    expect(rows.nth(1).locator("legend")).to_have_text("Stage 2")
    expect(page.locator("#error-summary")).not_to_contain_text("Stage 3")


def test_generate_stages_fills_round_targets_and_the_first_stage_s_checks(
    site: Site, browser: Browser
):
    page = signed_in(site, browser, "alice")
    page.goto(f"{site.url}/proposals/new/")
    page.get_by_label("Initial exposure (%)").fill("5")
    page.get_by_label("Max blast radius (%)").fill("100")
    page.locator('textarea[name="stages-0-success_criteria"]').fill("error_rate < 0.01")
    page.locator('input[name="stages-0-rollback_trigger"]').fill("error_rate > 0.05")
    page.get_by_label("Number of stages").fill("3")
    live_validation_settled(page)
    page.get_by_role("button", name="Generate stages from the increment policy").click()
    expect(page.locator('input[name="stages-1-target_percentage"]')).to_have_value("50")
    for row in range(3):
        expect(page.locator(f'textarea[name="stages-{row}-success_criteria"]')).to_have_value(
            "error_rate < 0.01"
        )
        expect(page.locator(f'input[name="stages-{row}-rollback_trigger"]')).to_have_value(
            "error_rate > 0.05"
        )


def test_the_proposal_page_in_each_state(site: Site, browser: Browser):
    """The status header and stepper of each state; with WEDGE_SCREENS_DIR set (make
    screens), a desktop and a phone screenshot of each for the README."""
    out = os.environ.get("WEDGE_SCREENS_DIR")
    page = signed_in(site, browser, "dave")
    headers = {
        "PENDING": ("Pending", "status-pending"),
        "ACTIVE": ("Active", "status-active"),
        "PAUSED": ("Paused", "status-paused"),
        "ROLLED_BACK": ("Rolled back", "status-rolled-back"),
        "COMPLETE": ("Complete", "status-complete"),
    }
    for state in STATES:
        pk = site.proposals[state]
        for width, height, name in ((1366, 1000, "desktop"), (390, 1400, "phone")):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{site.url}/proposals/{pk}/")
            label, tone = headers[state]
            expect(page.get_by_test_id("wedge-state")).to_have_text(label)
            expect(page.get_by_test_id("status-header")).to_have_class(re.compile(tone))
            if state == "PAUSED":
                expect(page.get_by_test_id("status-cause")).to_contain_text(
                    "without becoming eligible: its success criteria were not met"
                )
            if out:
                if state != "PENDING":
                    page.wait_for_function("() => Chart.getChart('exposure-chart')")
                page.wait_for_timeout(300)  # the charts' first paint
                Path(out).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{out}/proposal-{state.lower()}-{name}.png")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
