"""Schemathesis over every operation of the OpenAPI schema, authenticated.

Every generated request (valid and invalid bodies, parameters and ids) must
get an answer that is not a 5xx and conforms to the schema: a documented
status code, a documented content type and a body matching its schema.

The schema is the one ``/api/v1/schema/`` serves (a test checks they are the
same), generated in process at import time: fetching it over HTTP needs a
token, and there is no database during collection. Requests go to the WSGI
application in process, inside the test's transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from config.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

# Small on purpose: ~25 operations x this many examples keeps the whole file
# well under two minutes on two cores. WEDGE_FUZZ_EXAMPLES=500 digs deeper.
MAX_EXAMPLES = int(os.environ.get("WEDGE_FUZZ_EXAMPLES", "25"))


def served_schema() -> dict[str, Any]:
    generator = SchemaGenerator()
    raw = generator.get_schema(request=None, public=True)
    loaded: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(raw))
    return loaded


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = application

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # Sent again without the token: must be refused (401), whatever the endpoint.
    ignored_auth,
    unsupported_method,
    missing_required_header,
]
# Not enforced: negative_data_rejection. DRF and django-filter ignore what they
# cannot use in a query string (page_size=null, a repeated flag), so "invalid
# per schema" queries get 200; that is lenient parsing, not a defect.


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Keep the test's connection open across WSGI requests, as Django's test client does.

    The handler closes "old" connections when a request starts and ends; inside
    the test's transaction that would close it mid-test.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(demo, submit, in_process_requests) -> dict[str, Any]:
    """Objects in every state for generated ids to land on, and dave's token.

    Dave is the operator: he may submit, operate, manage webhooks and read the
    audit trail, so most requests get past permissions to the interesting code.
    """
    from org.tokens import api_token_for
    from webhooks.services import subscription_create
    from wedges.metrics import validate_metrics
    from wedges.services import wedge_record_snapshot, wedge_start

    pending = submit("alice")
    active = submit("alice")
    rolled_back = submit("alice")
    for proposal in (active, rolled_back):
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    wedge_record_snapshot(
        proposal_id=rolled_back.pk,
        metrics=validate_metrics({"metrics": {"error_rate": 0.9}}),
        actor=demo["alice"],
    )
    subscription = subscription_create(
        actor=demo["dave"],
        url="http://127.0.0.1:9/hook",
        secret="fuzzing-secret-0123456789",
        events=["RWG-003"],
    )
    ids: dict[str, list[int]] = {
        "proposals": [pending.pk, active.pk, rolled_back.pk],
        "webhooks": [subscription.pk],
        "waivers": [],
    }
    from waivers.services import waiver_request

    waiver = waiver_request(
        requester=demo["alice"],
        rationale="Fuzzing needs a waiver to act on.",
        duration_days=30,
        proposal=None,
        subsystem=pending.subsystem,
        change_type=pending.change_type,
    )
    ids["waivers"].append(waiver.pk)
    ids["gates"] = ids["proposals"]  # /api/v1/gates/argo/{id}/ takes a proposal's id
    return {"token": api_token_for(user=demo["dave"]), "ids": ids}


def aim_at_existing(case: Any, ids: dict[str, list[int]]) -> None:
    """Send small generated ids to objects that exist, so more than 404s is tested.

    Ids arrive as the strings that go into the URL. A small number picks one of
    the known objects (shifted per operation, so the states vary across
    operations); anything else is left as generated and should be a 404.
    The choice is a function of the generated value, so Hypothesis can replay
    and shrink it.
    """
    generated = (case.path_parameters or {}).get("id")
    if not isinstance(generated, str | int) or not str(generated).isdigit():
        return
    number = int(generated)
    collection = case.path.strip("/").split("/")[2]  # /api/v1/<collection>/{id}/...
    known = ids.get(collection)
    if known and number < 1000:
        shift = sum(map(ord, case.operation.label))
        case.path_parameters["id"] = str(known[(number + shift) % len(known)])


def test_the_fuzzed_schema_is_the_served_one(world, api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {world['token']}")
    response = api_client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == served_schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, world):
    aim_at_existing(case, world["ids"])
    headers = {"Authorization": f"Token {world['token']}"}
    # Each example in a savepoint rolled back afterwards: examples stay
    # independent (Hypothesis replays them), and a database error in one
    # cannot leave the shared test transaction aborted for the next.
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS, headers=headers)


# --- Extremes the generator rarely reaches --------------------------------------------------

# Numbers at the calendar's and float's edges, and text no UTF-8 can carry.
EXTREME_NUMBERS: list[Any] = [1e8, 1e308, -1e308, 2**63, 10**400]
EXTREME_TEXT = ["\x00", "ok\ud800"]
# A valid body for each operation the schema gives no example for.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/waivers/": {
        "rationale": "A hotfix that cannot wait for stages.",
        "duration_days": 30,
        "subsystem": "connector-runtime",
        "change_type": "security_patch",
    },
    "POST /api/v1/webhooks/": {
        "url": "https://deployer.example/hooks/wedge",
        "secret": "a-long-shared-secret-0123",
        "events": ["RWG-003"],
    },
    "POST /api/v1/proposals/{id}/incidents/": {
        "occurred_at": "2026-11-02T09:00:00Z",
        "severity": "SEV2",
        "affected_percentage": 5,
        "summary": "Connection resets.",
    },
    "POST /api/v1/waivers/{id}/approve/": {"comment": "Fine by me."},
}


def json_operations() -> list[Any]:
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema is ours and loads
        operation = result.ok()
        body = operation.definition.raw.get("requestBody", {})
        if "application/json" in body.get("content", {}):
            operations.append(pytest.param(operation, id=operation.label))
    return operations


def base_body(operation: Any) -> dict[str, Any]:
    content = operation.definition.raw["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in content.get("examples", {}).values()]
    if examples:
        return dict(examples[0])
    return dict(BODIES.get(operation.label, {"reason": "Change window."}))


def variants(value: Any) -> Iterator[Any]:
    """``value`` with one leaf at a time replaced by each extreme, then with an odd key."""
    if isinstance(value, dict):
        for key, child in value.items():
            for changed in variants(child):
                yield {**value, key: changed}
        yield {**value, "\ud800": 1}
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for changed in variants(child):
                yield [*value[:index], changed, *value[index + 1 :]]
    elif isinstance(value, str):
        yield from EXTREME_TEXT
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield from EXTREME_NUMBERS


@pytest.mark.parametrize("operation", json_operations())
def test_extreme_values_in_every_body_conform(operation, world):
    headers = {"Authorization": f"Token {world['token']}"}
    collection = operation.path.strip("/").split("/")[2]
    known = world["ids"].get(collection) or [1]
    # The running proposal, so that metrics reach the engine.
    path_parameters = {"id": str(known[1 % len(known)])} if "{id}" in operation.path else {}
    for body in variants(base_body(operation)):
        case = operation.Case(
            body=body, media_type="application/json", path_parameters=path_parameters
        )
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        case.validate_response(response, checks=CHECKS, headers=headers)
