"""Fixtures of the gates' tests: a fleet agent's token, proposals its canaries gate, clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from org.models import Subsystem
from org.tokens import token_issue
from wedges.metrics import validate_metrics
from wedges.models import ChangeProposal, RolloutWedge
from wedges.services import rollout

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}
WINDOW = timedelta(hours=1)


def at(moment: datetime) -> Any:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def agent_key(demo) -> str:
    """A Flagger/Argo token: the pipeline service account, agent scopes, one subsystem."""
    issued = token_issue(
        owner=demo["pipeline"],
        actor=demo["admin"],
        name="canary gates",
        scopes=["desired-state:read", "metrics:write"],
        subsystems=[Subsystem.objects.get(slug="connector-runtime")],
    )
    return issued.key


def payload(
    name: str = "podinfo",
    namespace: str = "test",
    phase: str = "Progressing",
    checksum: str = "85d557f47b",
    **metadata: str,
) -> dict[str, Any]:
    """Flagger's webhook payload (its "Webhooks" document), with our metadata."""
    return {
        "name": name,
        "namespace": namespace,
        "phase": phase,
        "checksum": checksum,
        "metadata": metadata,
    }


class Flagger:
    """Calls our gates as Flagger does: a POST with no headers, the key in the metadata."""

    def __init__(self, key: str, cluster: str = "") -> None:
        self.key = key
        self.cluster = cluster
        self.client = APIClient()

    def call(
        self,
        gate: str,
        moment: datetime,
        *,
        phase: str = "Progressing",
        name: str = "podinfo",
        checksum: str = "85d557f47b",
        **metadata: str,
    ) -> Any:
        metadata.setdefault("token", self.key)
        if self.cluster:
            metadata.setdefault("cluster", self.cluster)
        body = payload(name=name, phase=phase, checksum=checksum, **metadata)
        with at(moment):
            return self.client.post(f"/api/v1/gates/flagger/{gate}/", body, format="json")

    def event(
        self,
        moment: datetime,
        message: str,
        *,
        event_type: str = "Normal",
        phase: str = "Progressing",
    ) -> Any:
        return self.call(
            "event",
            moment,
            phase=phase,
            eventMessage=message,
            eventType=event_type,
            timestamp=str(int(moment.timestamp() * 1000)),
        )


@pytest.fixture
def flagger(agent_key):
    def make(cluster: str = "") -> Flagger:
        return Flagger(agent_key, cluster)

    return make


@pytest.fixture
def canary_proposal(submit):
    """A proposal gating canary test/podinfo: initial 5 %, then 10 -> 50 -> 90, 1 h windows."""

    def make(**changes: Any) -> ChangeProposal:
        changes.setdefault("external_reference", "test/podinfo")
        return submit("alice", **changes)

    return make


def start(demo, proposal: ChangeProposal, moment: datetime = T0) -> None:
    rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=moment)


def snapshot(demo, proposal: ChangeProposal, metrics: dict[str, Any], moment: datetime) -> Any:
    return rollout.wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": metrics}),
        actor=demo["alice"],
        now=moment,
    )


def wedge(proposal: ChangeProposal) -> RolloutWedge:
    return RolloutWedge.objects.get(proposal=proposal)


@pytest.fixture(autouse=True)
def fresh_refusal_memory(monkeypatch):
    """Each test its own memory of audited refusals (the real one lives in Redis across tests)."""
    from django.core.cache.backends.locmem import LocMemCache

    from gates import services

    monkeypatch.setattr(services, "cache", LocMemCache(f"gates-{id(monkeypatch)}", {}))
