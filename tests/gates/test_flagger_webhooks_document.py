"""Contract: Flagger's "Webhooks" document (docs.flagger.app/usage/webhooks), with its examples.

Flagger POSTs ``{"name", "namespace", "phase", "checksum", "metadata"}`` with
no headers of its own; ``metadata`` is the webhook's string map. A status of
200-202 advances, anything else (or a timeout, 10 s by default) halts; 5xx
and connection errors are retried. Event hooks carry ``eventMessage``,
``eventType`` and ``timestamp`` in the metadata.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from rest_framework.test import APIClient

from audit.models import AuditEvent
from gates.models import CanaryBinding
from tests.gates.conftest import T0, at, start

pytestmark = pytest.mark.django_db

# The document's webhook payload, verbatim but for the token.
DOCUMENTED_PAYLOAD = {
    "name": "podinfo",
    "namespace": "test",
    "phase": "Progressing",
    "checksum": "85d557f47b",
    "metadata": {"test": "all", "token": "16688eb5e9f289f1991c"},
}
# The document's event payload, filled in as Flagger fills it.
DOCUMENTED_EVENT = {
    "name": "podinfo",
    "namespace": "test",
    "phase": "Progressing",
    "checksum": "85d557f47b",
    "metadata": {
        "eventMessage": "New revision detected! Scaling up podinfo.test",
        "eventType": "Normal",
        "timestamp": "1700000000000",
    },
}
PHASES = (
    "Initializing",
    "Initialized",
    "Waiting",
    "Progressing",
    "WaitingPromotion",
    "Promoting",
    "Finalising",
    "Succeeded",
    "Failed",
)


def post(gate, body, moment=T0):
    with at(moment):
        return APIClient().post(f"/api/v1/gates/flagger/{gate}/", body, format="json")


def with_token(body, key, **metadata):
    return {**body, "metadata": {**body["metadata"], "token": key, **metadata}}


@pytest.fixture
def running(demo, canary_proposal):
    proposal = canary_proposal()
    start(demo, proposal)
    return proposal


def test_the_documents_payload_passes_a_gate_with_our_token(agent_key, running):
    response = post("confirm-rollout", with_token(DOCUMENTED_PAYLOAD, agent_key))
    assert response.status_code == 200
    assert response.json()["decision"] == "approved"
    binding = CanaryBinding.objects.get(proposal=running)
    assert binding.checksum == "85d557f47b"
    assert binding.last_phase == "Progressing"
    # The webhook's own metadata is kept for the audit trail; the token never is.
    bound = AuditEvent.objects.get(code="WDG-701")
    assert bound.data["metadata"] == {"test": "all"}
    assert agent_key not in str(bound.data)


def test_the_documents_example_token_is_not_ours(running):
    assert post("confirm-rollout", DOCUMENTED_PAYLOAD).status_code == 401


@pytest.mark.parametrize(
    "gate",
    [
        "confirm-rollout",
        "pre-rollout",
        "rollout",
        "confirm-traffic-increase",
        "confirm-promotion",
        "rollback",
    ],
)
def test_a_hold_is_above_202_and_never_a_5xx(agent_key, demo, canary_proposal, gate):
    canary_proposal()  # PENDING: every gate holds (rollback: nothing to roll back)
    response = post(gate, with_token(DOCUMENTED_PAYLOAD, agent_key))
    assert 202 < response.status_code < 500
    problem = response.json()["errors"][0]
    assert problem["field"] is None
    assert problem["message"]  # Flagger logs the body in its failed checks and events


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_flagger_sends_is_taken(agent_key, running, phase):
    body = with_token({**DOCUMENTED_PAYLOAD, "phase": phase}, agent_key)
    assert post("confirm-rollout", body).status_code == 200


def test_the_token_may_come_in_the_query_instead(agent_key, running):
    body = {**DOCUMENTED_PAYLOAD, "metadata": {"test": "all"}}
    with at(T0):
        response = APIClient().post(
            f"/api/v1/gates/flagger/confirm-rollout/?token={agent_key}", body, format="json"
        )
    assert response.status_code == 200


def test_a_payload_without_checksum_or_metadata_from_older_flagger_versions(agent_key, running):
    body = {"name": "podinfo", "namespace": "test", "phase": "Progressing"}
    with at(T0):
        response = APIClient().post(
            f"/api/v1/gates/flagger/confirm-rollout/?token={agent_key}", body, format="json"
        )
    assert response.status_code == 200


def test_fields_a_later_flagger_may_add_are_ignored(agent_key, running):
    body = with_token({**DOCUMENTED_PAYLOAD, "canaryWeight": "10"}, agent_key)
    assert post("confirm-rollout", body).status_code == 200


def test_the_proposal_may_be_named_in_the_metadata_as_a_string(agent_key, demo, submit):
    proposal = submit("alice")  # external_reference "ci/run/1234": found only by id
    start(demo, proposal)
    body = with_token(DOCUMENTED_PAYLOAD, agent_key, proposal=str(proposal.pk))
    response = post("confirm-rollout", body)
    assert response.status_code == 200
    assert response.json()["proposal_id"] == proposal.pk


def test_the_documents_event_goes_into_the_audit_trail(agent_key, running):
    response = post("event", with_token(DOCUMENTED_EVENT, agent_key, cluster="eu-west-1"))
    assert response.status_code == 200
    assert response.json()["recorded"] is True
    event = AuditEvent.objects.get(code="WDG-702")
    assert event.reason == "eu-west-1: test/podinfo: New revision detected! Scaling up podinfo.test"
    assert event.data["event_type"] == "Normal"
    assert event.data["phase"] == "Progressing"
    assert event.data["metadata"] == {"timestamp": "1700000000000"}


def test_an_event_without_its_message_is_a_400(agent_key, running):
    body = with_token(DOCUMENTED_PAYLOAD, agent_key)  # no eventMessage, no eventType
    response = post("event", body)
    assert response.status_code == 400
    fields = {problem["field"] for problem in response.json()["errors"]}
    assert fields == {"metadata.eventType", "metadata.eventMessage"}


def test_a_gate_answers_with_a_bounded_number_of_queries_and_no_outbound_call(
    agent_key, running, monkeypatch, django_assert_max_num_queries
):
    """Well inside Flagger's 10 s: indexed reads and one write, nothing that waits.

    13: the token and its owner's permissions (5), the proposal, wedge, stages
    and canary (4), and the canary's row, re-read and updated in a savepoint (4).
    """

    def no_network(*args, **kwargs):
        raise AssertionError("a gate must not call out")

    monkeypatch.setattr(requests.Session, "request", no_network)
    body = with_token(DOCUMENTED_PAYLOAD, agent_key, cluster="eu-west-1")
    post("confirm-traffic-increase", body)  # binds: the first call writes more
    for minute in (1, 2, 3):
        with django_assert_max_num_queries(13):
            response = post("confirm-traffic-increase", body, T0 + timedelta(minutes=minute))
        assert response.status_code == 403
