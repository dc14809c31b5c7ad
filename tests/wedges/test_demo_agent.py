"""The demo agent of `make run`: it reports for every running rollout, healthy unless the
proposal's description says otherwise, so what a newcomer starts moves too."""

from __future__ import annotations

import datetime as dt
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from org.demo import seed_demo
from org.models import Scope, User
from org.tokens import find_token
from wedges.demo import DEMO_REFERENCE, Behaviour, behaviour_for, metrics_for, seed_demo_rollouts
from wedges.management.commands import demo_agent
from wedges.management.commands.demo_agent import Command
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.policy.engine import StageView
from wedges.policy.expressions import parse
from wedges.services import wedge_start

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STAGES = ["initial", "canary", "half", "full"]


@pytest.mark.parametrize(
    ("description", "current", "expected"),
    [
        ("", "canary", Behaviour.HEALTHY),
        ("Rolls the pool out.\ndemo-agent: breach\n", "initial", Behaviour.BREACH),
        ("demo-agent: breach at half", "canary", Behaviour.HEALTHY),
        ("demo-agent: breach at half", "half", Behaviour.BREACH),
        ("demo-agent: breach at half", "full", Behaviour.BREACH),
        ("DEMO-AGENT: Silent", "canary", Behaviour.SILENT),
        ("demo-agent: unhealthy at nowhere", "full", Behaviour.HEALTHY),
        ("mentions demo-agent: breach mid-sentence", "canary", Behaviour.HEALTHY),
    ],
)
def test_a_line_of_the_description_tells_the_agent(description, current, expected):
    assert behaviour_for(description, STAGES, current) == expected


@pytest.mark.parametrize(
    ("criteria", "trigger"),
    [
        (("error_rate < 0.01", "p99 <= 250ms"), "error_rate > 0.05 or p99 > 800ms"),
        (("availability >= 99.9%", "error_rate < 0.01"), "availability < 99% or error_rate > 0.1"),
        (("latency_ms < 300", "queue_depth <= 10"), "latency_ms > 1000 or queue_depth > 100"),
        (("p99 <= 0.25s",), "p99 > 800ms"),
        (("x > 5", "x < 10"), "x > 20 or x < 1"),
    ],
)
def test_metrics_are_made_to_measure_for_any_stage(criteria, trigger):
    stage = StageView("s", 10, 1, criteria, trigger)
    rng = random.Random(7)
    fired = parse(trigger)
    for _ in range(20):
        healthy = metrics_for(stage, Behaviour.HEALTHY, rng, 10.0)
        assert healthy is not None
        assert healthy["exposure_percentage"] == 10.0
        assert all(parse(c).evaluate(healthy) for c in criteria)
        assert not fired.evaluate(healthy)
        unhealthy = metrics_for(stage, Behaviour.UNHEALTHY, rng, 10.0)
        assert unhealthy is not None
        assert not all(parse(c).evaluate(unhealthy) for c in criteria)
        assert not fired.evaluate(unhealthy)
        breach = metrics_for(stage, Behaviour.BREACH, rng, 10.0)
        assert breach is not None
        assert fired.evaluate(breach)
    assert metrics_for(stage, Behaviour.SILENT, rng, 10.0) is None


@pytest.mark.django_db
def test_the_agent_reports_for_every_running_rollout_through_the_api(demo, submit, monkeypatch):
    healthy = submit("alice", title="Someone's new rollout")
    breaching = submit("alice", title="Told to breach", description="demo-agent: breach")
    silent = submit("alice", title="Told to keep quiet", description="demo-agent: silent")
    pending = submit("alice", title="Not started")
    for proposal in (healthy, breaching, silent):
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    command = demo_agent.Command()
    # The agent's own token: metrics:write and desired-state:read, nothing more.
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {command.agent_key(demo['pipeline'])}")
    calls: list[str] = []

    def call(url: str, key: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        path = url.removeprefix("http://agent.test")
        calls.append(path)
        response = agent.get(path) if body is None else agent.post(path, body, format="json")
        assert response.status_code == 200, response.content
        return json.loads(response.content)

    monkeypatch.setattr(demo_agent, "_call", call)
    assert command.report("http://agent.test/api/v1", "key", random.Random(1))

    def state(proposal):
        return RolloutWedge.objects.get(proposal=proposal)

    assert state(healthy).wedge_state == "ACTIVE"
    snapshot = state(healthy).latest_snapshot
    assert snapshot is not None
    assert snapshot.values["exposure_percentage"] == 5.0
    assert state(breaching).wedge_state == "ROLLED_BACK"
    assert state(silent).latest_snapshot is None
    assert f"/api/v1/proposals/{pending.pk}/desired-state/" not in calls
    assert f"/api/v1/proposals/{silent.pk}/metrics/" not in calls


# --- The agent as a real deployment agent: a scoped token, the API ---------------------


@pytest.fixture
def demo_rollouts() -> User:
    seed_demo()
    seed_demo_rollouts()
    return User.objects.get(username="pipeline")


@pytest.mark.django_db(transaction=True)
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
            wedge_state__in=[State.ACTIVE, State.PAUSED],
            proposal__external_reference__startswith=DEMO_REFERENCE,
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


@pytest.mark.django_db(transaction=True)
def test_a_restarted_demo_agent_rotates_its_token(demo_rollouts, live_server):
    agent = Command()
    first = agent.agent_key(demo_rollouts)
    second = agent.agent_key(demo_rollouts)
    api = f"{live_server.url}/api/v1"
    assert agent.report(api, first, random.Random(1)) is False  # revoked: ask for another
    assert agent.report(api, second, random.Random(1)) is True
