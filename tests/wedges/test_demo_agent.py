"""The demo agent of `make run` works as a real deployment agent: a scoped token, the API."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from org.demo import seed_demo
from org.models import Scope, User
from org.tokens import find_token
from wedges.demo import DEMO_REFERENCE, seed_demo_rollouts
from wedges.management.commands.demo_agent import Command
from wedges.models import MetricSnapshot, RolloutWedge, State

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_rollouts() -> User:
    seed_demo()
    seed_demo_rollouts()
    return User.objects.get(username="pipeline")


def test_the_demo_agent_reports_with_a_token_of_the_agent_scopes_only(demo_rollouts, live_server):
    agent = Command()
    key = agent.agent_key(demo_rollouts)
    token = find_token(key)
    assert token is not None
    assert token.owner.username == "pipeline"
    assert token.owner.is_service_account
    assert sorted(token.scopes) == sorted([Scope.METRICS_WRITE, Scope.DESIRED_STATE_READ])
    assert token.expires_at is not None
    assert token.expires_at - timezone.now() <= dt.timedelta(days=7)

    running = list(
        RolloutWedge.objects.filter(
            wedge_state=State.ACTIVE, proposal__external_reference__startswith=DEMO_REFERENCE
        ).values_list("proposal_id", flat=True)
    )
    assert running, "the demo has running rollouts"
    before = MetricSnapshot.objects.filter(reported_by=demo_rollouts).count()
    assert agent.report(f"{live_server.url}/api/v1", key, random.Random(1)) is True
    # One snapshot per running demo rollout, reported by the service account: not the
    # proposals' author, so through the agent scopes' fleet reach.
    reported = MetricSnapshot.objects.filter(reported_by=demo_rollouts).count() - before
    assert reported == len(running)

    # Nothing else: an operator action with the same key is refused for its scope.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    refused = client.post(f"/api/v1/proposals/{running[0]}/pause/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "insufficient_scope"


def test_a_restarted_demo_agent_rotates_its_token(demo_rollouts, live_server):
    agent = Command()
    first = agent.agent_key(demo_rollouts)
    second = agent.agent_key(demo_rollouts)
    api = f"{live_server.url}/api/v1"
    assert agent.report(api, first, random.Random(1)) is False  # revoked: ask for another
    assert agent.report(api, second, random.Random(1)) is True
