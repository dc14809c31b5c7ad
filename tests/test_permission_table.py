"""The permission table (``config/permissions.py``), walked through the running app.

Every row, every page and API endpoint it names, as every kind of caller of
the table (sessions for people; each caller's ``admin`` token, which may do
what its owner may; anonymous callers) and with every token scope, with and
without a subsystem limit. Each request runs in a savepoint that is rolled
back, so every cell starts from the same world. A page or endpoint missing
from the table, or a row naming one that is gone, fails too; so does
``docs/permissions.md`` when it is not what the table generates.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config import permissions
from config.permissions import (
    ACTIONS,
    Action,
    Api,
    Outcome,
    Page,
    Principal,
    Reach,
    Subject,
    TokenLimit,
    token_outcome,
)
from freezes.services import freeze_declare
from governance.models import Incident
from governance.services import incident_record
from org.demo import DEMO_PASSWORD, seed_demo
from org.models import ApiToken, Scope, Subsystem, User
from org.roles import Role
from org.scopes import scopes_allowed_for
from org.tokens import token_issue
from policies.services import policy_version_propose
from providers.models import MetricProvider
from tests.config.test_csp import assert_strict_policy, refused_markup
from tests.documents import PROPOSAL
from tests.factories import UserFactory
from tests.wedges.form_data import form_data
from waivers.models import WaiverRequest
from waivers.services import waiver_request
from webhooks.models import Subscription
from webhooks.services import subscription_create
from wedges.metrics import validate_metrics
from wedges.models import ChangeProposal
from wedges.services import proposal_submit, wedge_pause, wedge_record_snapshot, wedge_start
from wedges.submission import check_submission

pytestmark = pytest.mark.django_db

USERNAMES = {
    Principal.ENGINEER: "alice",
    Principal.OTHER_ENGINEER: "grace",
    Principal.OPERATOR: "dave",
    Principal.LEAD: "bob",
    Principal.OTHER_LEAD: "frank",
    Principal.REVIEWER: "carol",
    Principal.AUDITOR: "erin",
    Principal.ADMIN: "admin",
    Principal.SERVICE: "pipeline",
}
SUBJECT_SUBSYSTEM, OTHER_SUBSYSTEM = "connector-runtime", "control-plane"
# Whose scoped tokens walk the scopes: a lead may use every scope and may do every API
# action on the table's objects; a service account shows the agents' fleet reach.
TOKEN_OWNERS = (Principal.LEAD, Principal.SERVICE)
HEALTHY = {"metrics": {"error_rate": 0.001, "p99": "150ms"}}
NEW_PASSWORD = "correct horse battery staple 42"


@dataclass
class World:
    users: dict[Principal, int]
    subjects: dict[Subject, int | str]
    sessions: dict[Principal, str]
    # A token of each signed-in caller with every right of its owner (admin, no limit).
    own_tokens: dict[Principal, tuple[int, str]]
    # Keys of the token owners' tokens by scope and limit; None: their roles cannot carry it.
    scoped: dict[tuple[Principal, Scope, TokenLimit], str | None] = field(default_factory=dict)


def _submit(author: User, title: str, **changes: Any) -> ChangeProposal:
    body = copy.deepcopy(PROPOSAL)
    body["title"] = title
    body["rollout_wedge"].update(changes)
    check = check_submission(body)
    assert check.storable, check.to_dict()
    return proposal_submit(check=check, author=author).proposal


def _single_stage(author: User, title: str) -> ChangeProposal:
    """Breaks only rule 1 (docs/policy.md): stored, needing a waiver before it starts."""
    stage = {**PROPOSAL["rollout_wedge"]["wedge_stages"][0], "target_percentage": 20}
    return _submit(author, title, wedge_stages=[stage])


def _spread_ids() -> None:
    """Number each kind of subject in a range of its own, past the proposals'.

    So a row whose URL gets one kind's id where another's belongs fails,
    rather than reaching the right object by a coincidence of numbers.
    """
    with connection.cursor() as cursor:
        for position, model in enumerate((Incident, WaiverRequest, Subscription, ApiToken), 1):
            cursor.execute(
                "SELECT max(nextval(pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s)",
                [model._meta.db_table, 1000 * position],
            )


def _build() -> World:
    _spread_ids()
    seed_demo()
    UserFactory(username="grace", roles=[Role.ENGINEER], password=DEMO_PASSWORD)
    users = {principal: User.objects.get(username=name) for principal, name in USERNAMES.items()}
    alice, dave = users[Principal.ENGINEER], users[Principal.OPERATOR]
    now = timezone.now()

    hour = dt.timedelta(hours=1)
    # Back-dated, so incidents can be recorded against them a minute ago.
    with time_machine.travel(now - 3 * hour):
        pending = _submit(alice, "Pending rollout")
        running = _submit(alice, "Running rollout")
        paused = _submit(alice, "Paused rollout")
        eligible = _submit(alice, "Manual rollout", increment_policy="manual")
        needs_waiver = _single_stage(alice, "Single-stage fix")
        waived = _single_stage(alice, "Another single-stage fix")
        waiver = waiver_request(
            requester=alice, rationale="One flag.", duration_days=7, proposal=waived
        )
    with time_machine.travel(now - 2 * hour):
        # Its observation window has passed: with a healthy snapshot it waits for approval.
        wedge_start(proposal_id=eligible.pk, actor=dave)
    with time_machine.travel(now - hour / 2):
        wedge_start(proposal_id=running.pk, actor=dave)
        wedge_start(proposal_id=paused.pk, actor=dave)
        wedge_pause(proposal_id=paused.pk, actor=dave, reason="hold")
    wedge_record_snapshot(proposal_id=eligible.pk, metrics=validate_metrics(HEALTHY), actor=alice)
    incident = incident_record(
        proposal=ChangeProposal.objects.select_related("subsystem__section", "rollout_wedge").get(
            pk=running.pk
        ),
        reported_by=dave,
        occurred_at=now - dt.timedelta(minutes=5),
        severity="SEV3",
        affected_percentage=1,
        summary="A blip",
    )
    subscription = subscription_create(
        actor=dave,
        url="http://127.0.0.1:9/hooks/wedge",
        secret="a-long-shared-secret",
        events=["RWG-003"],
        section=running.subsystem.section,
    )
    provider = MetricProvider.objects.create(name="prometheus", base_url="http://127.0.0.1:9")
    # A policy change proposed by a third section lead: both of the table's leads may review it.
    UserFactory(username="heidi", roles=[Role.SECTION_LEAD], password=DEMO_PASSWORD)
    heidi = User.objects.get(username="heidi")
    running.subsystem.section.leads.add(heidi)
    policy_change = policy_version_propose(
        actor=heidi,
        values={"first_stage_cap": 20},
        rationale="The table's walk.",
        effective_at=now + dt.timedelta(days=1),
    )
    # Scheduled, so it holds nothing the other rows walk; ending it cancels it.
    freeze = freeze_declare(
        actor=users[Principal.LEAD],
        reason="Year-end holiday",
        starts_at=now + 24 * hour,
        ends_at=now + 48 * hour,
        subsystems=[SUBJECT_SUBSYSTEM],
    )
    subjects: dict[Subject, int | str] = {
        Subject.PROPOSAL: pending.pk,
        Subject.RUNNING: running.pk,
        Subject.PAUSED: paused.pk,
        Subject.ELIGIBLE: eligible.pk,
        Subject.NEEDS_WAIVER: needs_waiver.pk,
        Subject.WAIVER: waiver.pk,
        Subject.INCIDENT: incident.pk,
        Subject.SUBSCRIPTION: subscription.pk,
        Subject.PROVIDER: provider.name,
        Subject.POLICY_CHANGE: policy_change.number,
        Subject.FREEZE: freeze.pk,
    }

    sessions: dict[Principal, str] = {}
    for principal, user in users.items():
        if principal is Principal.SERVICE:
            continue  # no web session: service accounts cannot sign in
        client = Client()
        client.force_login(user)
        key = client.session.session_key
        assert key is not None
        sessions[principal] = key
    own_tokens = {}
    for principal, user in users.items():
        issued = token_issue(owner=user, actor=user, name="everything")
        own_tokens[principal] = (issued.token.pk, issued.key)
    limits = {
        TokenLimit.NONE: [],
        TokenLimit.SAME: [Subsystem.objects.get(slug=SUBJECT_SUBSYSTEM)],
        TokenLimit.OTHER: [Subsystem.objects.get(slug=OTHER_SUBSYSTEM)],
    }
    world = World(
        users={principal: user.pk for principal, user in users.items()},
        subjects=subjects,
        sessions=sessions,
        own_tokens=own_tokens,
    )
    for owner in TOKEN_OWNERS:
        user = users[owner]
        for scope in Scope:
            for limit, subsystems in limits.items():
                if scope not in scopes_allowed_for(user):
                    world.scoped[owner, scope, limit] = None
                    continue
                issued = token_issue(
                    owner=user, actor=user, name="walk", scopes=[scope], subsystems=subsystems
                )
                world.scoped[owner, scope, limit] = issued.key
    return world


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module, in a transaction rolled back at its end.

    Each test runs inside it (pytest-django's transaction becomes a savepoint)
    and each request inside a savepoint of its own (``undone``).
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


@contextmanager
def undone() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- Requests -------------------------------------------------------------------------


def _api_body(route: str, world: World, method: str = "POST") -> dict[str, Any] | None:
    if route == "api:proposal-list" or route == "api:proposal-validate":
        return copy.deepcopy(PROPOSAL)
    if route == "api:proposal-metrics":
        return HEALTHY
    if route == "api:proposal-incidents":
        occurred = timezone.now() - dt.timedelta(minutes=1)
        return {
            "occurred_at": occurred.isoformat(),
            "severity": "SEV3",
            "affected_percentage": 1,
            "summary": "A blip",
        }
    if route == "api:incident-list" and method == "POST":
        return {
            "source": "pagerduty",
            "external_id": "PD-TABLE-1",
            "title": "A blip",
            "severity": "P3",
            "started_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat(),
            "affected_percentage": 1,
            "proposal": world.subjects[Subject.RUNNING],
        }
    if route.startswith("api:proposal-"):  # the operator actions
        return {"reason": "the table's walk"}
    if route == "api:waiver-list":
        proposal = world.subjects[Subject.NEEDS_WAIVER]
        return {"rationale": "One flag.", "duration_days": 7, "proposal": proposal}
    if route == "api:waiver-approve":
        return {"comment": "fine"}
    if route in ("api:waiver-reject", "api:waiver-revoke"):
        return {"reason": "not now"}
    if route == "api:webhook-list":
        return {
            "url": "http://127.0.0.1:9/hooks/other",
            "secret": "another-long-shared-secret",
            "events": ["RWG-001"],
            "section": "platform",
        }
    if route == "api:policy-version-list":
        return {
            "first_stage_cap": 15,
            "rationale": "The table's walk.",
            "effective_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        }
    if route in ("api:policy-version-reject",):
        return {"reason": "not now"}
    if route == "api:webhook-detail":
        return {"active": False}
    if route == "api:freeze-list":
        return _freeze_body()
    if route == "api:freeze-end":
        return {"reason": "the table's walk"}
    return None


class _Upload(io.BytesIO):
    """A file the walk posts once per caller: every read starts from the top."""

    name = "incidents.csv"

    def read(self, size: int | None = -1) -> bytes:
        self.seek(0)
        return super().read(size)


def _freeze_body() -> dict[str, Any]:
    starts = timezone.now() + dt.timedelta(days=3)
    return {
        "reason": "Release weekend",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(days=1)).isoformat(),
        "subsystems": [SUBJECT_SUBSYSTEM],
    }


def _page_body(page: Page, world: World) -> dict[str, Any]:
    route = page.route
    if route == "reports:incident_import":
        started = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
        running = world.subjects[Subject.RUNNING]
        csv_text = (
            "id,title,priority,started_at,affected,proposal\n"
            f"PD-9,A blip,P3,{started},1,{running}\n"
        )
        return {"file": _Upload(csv_text.encode()), "source": "pagerduty", "dry_run": "on"}
    if route in ("proposals:create", "proposals:validate"):
        return form_data(PROPOSAL)
    if route == "proposals:ladder":
        return {
            "increment_policy": "linear",
            "initial_percentage": "5",
            "max_blast_radius": "90",
            "stage_count": "3",
        }
    if route == "proposals:operate":
        return {"reason": "the table's walk"}
    if route == "reports:incident_create":
        occurred = timezone.now() - dt.timedelta(minutes=1)
        return {
            "incident-occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S"),
            "incident-severity": "SEV3",
            "incident-affected_percentage": "1",
            "incident-summary": "A blip",
        }
    if route == "waivers:create":
        return {
            "scope": "proposal",
            "proposal": str(world.subjects[Subject.NEEDS_WAIVER]),
            "rationale": "One flag.",
            "duration_days": "7",
        }
    if route == "waivers:approve":
        return {"approve-comment": "fine"}
    if route == "waivers:reject":
        return {"reject-reason": "not now"}
    if route == "waivers:revoke":
        return {"revoke-reason": "not now"}
    if route == "policies:propose":
        return {
            "first_stage_cap": "15",
            "rationale": "The table's walk.",
            "effective_at": (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        }
    if route == "policies:decide":
        return {"reason": "not now"}
    if route == "freezes:list":
        body = _freeze_body()
        return {
            "reason": body["reason"],
            "starts_at": body["starts_at"][:16],
            "ends_at": body["ends_at"][:16],
            "scope": "subsystems",
            "subsystems": [SUBJECT_SUBSYSTEM],
        }
    if route == "freezes:end":
        return {"reason": "the table's walk"}
    if route == "account:tokens":
        return {"name": "walk", "scopes": ["audit:read"], "expires_in": "30"}
    if route == "password_change":
        return {
            "old_password": DEMO_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        }
    return {}


def _subject_id(subject: Subject, world: World, principal: Principal) -> int | str | None:
    if subject is Subject.NOTHING:
        return None
    if subject is Subject.TOKEN:
        # The anonymous are shown someone's: they are sent to sign in all the same.
        owner = Principal.ENGINEER if principal is Principal.ANONYMOUS else principal
        return world.own_tokens[owner][0]
    return world.subjects[subject]


def _path(route: str, kwargs: dict[str, str], subject_id: int | str | None) -> str:
    arguments = dict(kwargs)
    if subject_id is not None:
        for key in permissions.SUBJECT_KEYS:
            try:
                return reverse(route, kwargs={**arguments, key: subject_id})
            except NoReverseMatch:  # a route about no object (the form it is posted to)
                continue
    return reverse(route, kwargs=arguments or None)


def _api_client(world: World, principal: Principal, *, token: str | None = None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    elif principal is not Principal.ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[principal]
    return client


def _web_client(world: World, principal: Principal) -> Client:
    client = Client()
    if principal is not Principal.ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[principal]
    return client


def _csp_problems(response: Any) -> list[str]:
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    problems = refused_markup(response.content.decode())
    try:
        assert_strict_policy(response)
    except (AssertionError, KeyError):
        problems.append(f"Content-Security-Policy: {response.get('Content-Security-Policy')!r}")
    return problems


def _api_outcome(response: Any, api: Api) -> Outcome | str:
    status = response.status_code
    if status in (200, 201, 204, 304):
        return Outcome.YES
    body = response.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors or not all(set(error) >= {"field", "code", "message"} for error in errors):
        return f"{status} not in the error shape: {body!r:.200}"
    codes = {(error["field"], error["code"]) for error in errors}
    if status == 401:
        return Outcome.SIGN_IN
    if status == 403:
        return Outcome.NO_SCOPE if (None, "insufficient_scope") in codes else Outcome.FORBIDDEN
    if status == api.hidden_status and (status == 404 or ("proposal", "does_not_exist") in codes):
        return Outcome.HIDDEN
    return f"{status} {body!r:.300}"


def _web_outcome(response: Any, page: Page, principal: Principal) -> Outcome | str:
    status = response.status_code
    if status in (200, 201):
        return Outcome.YES
    if status == 302:
        location = response["Location"]
        if "login/" in location and "next=" in location:
            # Sent to sign in: what the anonymous get; for the signed-in, a refusal
            # (the Django admin's answer to those who are not staff).
            return Outcome.SIGN_IN if principal is Principal.ANONYMOUS else Outcome.FORBIDDEN
        return Outcome.YES
    if status == 403:
        return Outcome.FORBIDDEN
    if status == page.hidden_status:
        form = response.context and response.context.get("form")
        if status == 404 or (form is not None and "proposal" in form.errors):
            return Outcome.HIDDEN
    return f"{status} {response.content[:300]!r}"


def _call_api(client: APIClient, api: Api, path: str, body: Any) -> Any:
    method = getattr(client, api.method.lower())
    if body is None:
        return method(path)
    return method(path, body, format="json")


def _walk(
    problems: list[str],
    label: str,
    expected: Outcome,
    call: Callable[[], Any],
    judge: Callable[[Any], Outcome | str],
) -> Any:
    """Make one request in a savepoint that is rolled back; note what differs from ``expected``."""
    with undone():
        try:
            response = call()
        except Exception as error:
            problems.append(f"{label}: expected {expected}, raised {error!r}")
            return None
        got = judge(response)
        if got != expected:
            problems.append(f"{label}: expected {expected}, got {got}")
        for problem in _csp_problems(response):
            problems.append(f"{label}: {problem}")
        return response


def _cases(kind: str) -> list[Any]:
    cases = []
    for action in ACTIONS:
        if action.tested_in:
            continue  # held to its row by its own tests (see test_the_table_is_walkable)
        for endpoint in getattr(action, kind):
            extra = "".join(f" {value}" for value in getattr(endpoint, "kwargs", {}).values())
            cases.append(
                pytest.param(action, endpoint, id=f"{endpoint.method} {endpoint.route}{extra}")
            )
    return cases


# --- The walks --------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "api"), _cases("api"))
def test_the_api_answers_every_caller_as_the_table_says(
    world: World, action: Action, api: Api
) -> None:
    """Sessions of people, each caller's full-rights token, and anonymous calls."""
    problems: list[str] = []
    body = _api_body(api.route, world, api.method)
    judge = partial(_api_outcome, api=api)
    for principal in Principal:
        expected = action.who[principal]
        path = _path(api.route, {}, _subject_id(action.subject, world, principal))
        if principal is not Principal.SERVICE:
            client = _api_client(world, principal)
            call = partial(_call_api, client, api, path, body)
            _walk(problems, f"{principal} (session)", expected, call, judge)
        if principal is not Principal.ANONYMOUS:
            key = world.own_tokens[principal][1]
            tokened = _api_client(world, principal, token=key)
            call = partial(_call_api, tokened, api, path, body)
            _walk(problems, f"{principal} (admin token)", expected, call, judge)
    assert not problems, "\n".join(problems)


# What a list of each LIST endpoint must hold (or, for another subsystem, lack).
LIST_PROBES: dict[str, tuple[str, Subject, str]] = {
    "api:proposal-list": ("?page_size=100", Subject.PROPOSAL, "id"),
    "api:incident-list": ("?page_size=100", Subject.INCIDENT, "id"),
    "api:waiver-list": ("?page_size=100", Subject.WAIVER, "id"),
    "api:audit-events": ("?proposal={id}", Subject.PROPOSAL, "proposal_id"),
    "api:audit-events-export": ("?proposal={id}", Subject.PROPOSAL, "proposal_id"),
}


def _listed(response: Any, subject_id: int | str, key: str) -> bool:
    if response.streaming:
        body = json.loads(b"".join(response.streaming_content))
    else:
        body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return any(row[key] == subject_id for row in rows)


@pytest.mark.parametrize(("action", "api"), _cases("api"))
def test_a_token_needs_the_tables_scope_and_stays_within_its_subsystems(
    world: World, action: Action, api: Api
) -> None:
    problems: list[str] = []
    body = _api_body(api.route, world, api.method)
    for owner in TOKEN_OWNERS:
        if owner is Principal.SERVICE and not api.fleet:
            continue
        path = _path(api.route, {}, _subject_id(action.subject, world, owner))
        probe = LIST_PROBES.get(api.route) if api.reach is Reach.LIST else None
        if probe is not None:
            subject_id = world.subjects[probe[1]]
            path += probe[0].format(id=subject_id)
        for scope in Scope:
            for limit in TokenLimit:
                key = world.scoped[owner, scope, limit]
                if key is None:
                    continue
                expected = token_outcome(
                    api,
                    scope,
                    limit,
                    owner=action.who[owner],
                    fleet_owner=owner is Principal.SERVICE,
                )
                label = f"{owner}'s token with {scope}, {limit}"
                client = _api_client(world, owner, token=key)
                response = _walk(
                    problems,
                    label,
                    expected,
                    partial(_call_api, client, api, path, body),
                    partial(_api_outcome, api=api),
                )
                if probe is not None and expected is Outcome.YES and response is not None:
                    shown = _listed(response, world.subjects[probe[1]], probe[2])
                    if shown != (limit is not TokenLimit.OTHER):
                        problems.append(f"{label}: the list {'shows' if shown else 'lacks'} it")
    assert not problems, "\n".join(problems)


# Not "page": pytest-playwright would take the name for its browser page.
@pytest.mark.parametrize(("action", "screen"), _cases("web"))
def test_the_web_answers_every_caller_as_the_table_says(
    world: World, action: Action, screen: Page
) -> None:
    """Every page as every signed-in person and anonymously; HTML under the strict CSP."""
    problems: list[str] = []
    body = _page_body(screen, world)
    for principal in Principal:
        if principal is Principal.SERVICE:
            continue  # no web session (tests/org/test_sign_in.py)
        expected = action.who[principal]
        path = _path(
            screen.route, dict(screen.kwargs), _subject_id(action.subject, world, principal)
        )
        client = _web_client(world, principal)
        call = (
            partial(client.get, path)
            if screen.method == "GET"
            else partial(client.post, path, body)
        )
        judge = partial(_web_outcome, page=screen, principal=principal)
        _walk(problems, str(principal), expected, call, judge)
        if principal is Principal.ANONYMOUS:
            # API tokens sign nobody in to the pages, not even the operator's.
            header = {"Authorization": f"Token {world.own_tokens[Principal.OPERATOR][1]}"}
            call = (
                partial(client.get, path, headers=header)
                if screen.method == "GET"
                else partial(client.post, path, body, headers=header)
            )
            _walk(problems, "a token on a page", expected, call, judge)
    assert not problems, "\n".join(problems)


# --- The table covers the app, and only the app ------------------------------------------


def _routes(
    patterns: list[URLPattern | URLResolver], namespace: str = ""
) -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace or ""
            if pattern.namespace is None:
                inner = namespace
            yield from _routes(pattern.url_patterns, inner)
        elif pattern.name is not None:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name.lstrip(":"), pattern.callback
        else:
            yield f"{namespace}:<unnamed {pattern.pattern}>".lstrip(":"), pattern.callback


def _api_methods(callback: Any) -> set[str]:
    """The methods an API route answers (HEAD and OPTIONS aside)."""
    view_class = getattr(callback, "cls", None)
    if view_class is None:
        return set()
    allowed = {name.upper() for name in view_class.http_method_names}
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a viewset's route: its method-to-action map
        methods = {method.upper() for method in actions}
    else:
        methods = {
            name.upper() for name in view_class.http_method_names if hasattr(view_class, name)
        }
    return (methods & allowed) - {"HEAD", "OPTIONS"}


def test_every_page_and_endpoint_is_in_the_table_and_every_row_is_a_route() -> None:
    web = {page.route for action in ACTIONS for page in action.web}
    api = {(endpoint.method, endpoint.route) for action in ACTIONS for endpoint in action.api}
    found_web: set[str] = set()
    found_api: set[tuple[str, str]] = set()
    missing: list[str] = []
    declared: list[str] = []
    for name, callback in _routes(get_resolver().url_patterns):
        if name in permissions.NOT_ACTIONS:
            continue
        if name.startswith("admin:") and name != "admin:index":
            continue  # the Django admin: one row, its own model permissions within
        if name.startswith("api:"):
            methods = _api_methods(callback)
            if not methods:
                missing.append(f"{name}: not an API view the table can describe")
            for method in methods:
                found_api.add((method, name))
                if (method, name) not in api:
                    missing.append(f"{method} {name}")
            view_class = getattr(callback, "cls", None)
            if hasattr(view_class, "required_scope") or hasattr(view_class, "required_scopes"):
                declared.append(name)
        else:
            found_web.add(name)
            if name not in web:
                missing.append(name)
    assert not missing, (
        "Pages and API endpoints missing from the permission table (config/permissions.py): "
        + ", ".join(sorted(missing))
    )
    assert web <= found_web, f"rows naming no page: {sorted(web - found_web)}"
    assert api <= found_api, f"rows naming no endpoint: {sorted(api - found_api)}"
    assert not declared, (
        f"{sorted(set(declared))} declare their token scope on the view: move it into the "
        "permission table (config/permissions.py), which the token check reads."
    )


def test_the_docs_are_the_table() -> None:
    docs = Path(settings.BASE_DIR) / "docs" / "permissions.md"
    assert docs.read_text() == permissions.markdown(), (
        "docs/permissions.md is stale: .venv/bin/python manage.py permissions_table "
        "> docs/permissions.md"
    )


def test_the_table_is_walkable() -> None:
    """What the walks above assume of the table."""
    for action in ACTIONS:
        assert action.api or action.web, action.key
        if action.api:
            # Every API row says what a service account's own token gets...
            assert action.who[Principal.SERVICE] is not Outcome.NONE, action.key
            # ... and the lead, whose scoped tokens walk the scopes, may do it.
            assert action.who[Principal.LEAD] is Outcome.YES, action.key
        for api in action.api:
            assert not api.fleet or api.reach is Reach.OBJECT, action.key
        if action.tested_in:
            assert (Path(settings.BASE_DIR) / action.tested_in).is_file(), action.tested_in
    keys = [action.key for action in ACTIONS]
    assert len(keys) == len(set(keys))


def test_no_other_token_owner_can_carry_what_their_roles_cannot_use(world: World) -> None:
    """The service account (an engineer) cannot hold ``operate``: issuing it is refused."""
    assert world.scoped[Principal.SERVICE, Scope.OPERATE, TokenLimit.NONE] is None
    assert all(
        world.scoped[Principal.LEAD, scope, limit] is not None
        for scope in Scope
        for limit in TokenLimit
    )
