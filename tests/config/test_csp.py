"""Every page sends a Content-Security-Policy and contains nothing it would block."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from wedges.metrics import validate_metrics
from wedges.services import wedge_record_snapshot, wedge_start

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/proposals/",
    "/proposals/new/",
    "/proposals/{proposal}/",
    "/waivers/",
    "/waivers/new/",
    "/waivers/{waiver}/",
    "/audit/",
    "/reports/governance/",
    "/account/tokens/",
    "/api/v1/docs/",
]


class Markup(HTMLParser):
    """What in a page a strict CSP would refuse: inline script and style, handlers, far assets."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler attribute")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            kind = named.get("type") or "text/javascript"
            if named.get("src") is None and kind != "application/json":
                self._in_script = True
            elif named.get("src") and not str(named["src"]).startswith("/"):
                self.problems.append(f"script from elsewhere: {named['src']}")
        href = str(named.get("href") or "")
        if tag == "link" and named.get("rel") == "stylesheet" and not href.startswith("/"):
            self.problems.append(f"stylesheet from elsewhere: {href}")
        for name in ("href", "src", "action"):
            if str(named.get(name) or "").lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}='javascript:…'>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def refused_markup(html: str) -> list[str]:
    parser = Markup()
    parser.feed(html)
    return parser.problems


def assert_strict_policy(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy


@pytest.fixture
def objects(demo, submit):
    from waivers.services import waiver_request

    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": {"error_rate": 0.001, "p99": "120ms"}}),
        actor=demo["alice"],
    )
    waiver = waiver_request(
        requester=demo["alice"],
        rationale="Hotfixes need no stages.",
        duration_days=30,
        subsystem=proposal.subsystem,
        change_type="security_patch",
    )
    return {"proposal": proposal.pk, "waiver": waiver.pk}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_strict_policy_and_nothing_it_refuses(client, demo, objects, page):
    client.force_login(demo["dave"])  # the operator: every page, every control
    response = client.get(page.format(**objects))
    assert response.status_code == 200
    assert_strict_policy(response)
    assert refused_markup(response.content.decode()) == []


@pytest.mark.parametrize(
    ("page", "status"),
    [("/accounts/login/", 200), ("/no-such-page/", 404), ("/proposals/99999/", 404)],
)
def test_sign_in_and_error_pages_too(client, demo, page, status):
    if page != "/accounts/login/":
        client.force_login(demo["alice"])
    response = client.get(page)
    assert response.status_code == status
    assert_strict_policy(response)
    assert refused_markup(response.content.decode()) == []


def test_the_server_error_page_has_no_inline_style():
    from django.template.loader import render_to_string

    assert refused_markup(render_to_string("500.html")) == []


def test_api_answers_carry_the_policy_too(token_client):
    response = token_client("alice").get("/api/v1/proposals/")
    assert_strict_policy(response)


def test_the_docs_start_up_script_is_served_as_a_file(client, demo):
    client.force_login(demo["alice"])
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_the_markup_checker_catches_what_it_should():
    assert len(refused_markup('<script>alert(1)</script><p style="x" onclick="y">')) == 3
    assert refused_markup('<script type="application/json">{"a": 1}</script>') == []
    assert refused_markup('<script src="https://cdn.example/x.js"></script>') != []
