"""The database connection dies in the middle of a rollback request.

A breaching snapshot is POSTed; inside the service, after the snapshot row is
inserted and the wedge row updated, the request's PostgreSQL backend is
terminated from another connection (``pg_terminate_backend``), or the audit
write fails. What must hold: the client gets an error response, and nothing
of the transaction survives: no snapshot row, no state change, no audit event,
no outbox row. The next request works on a fresh connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEvent
from org.tokens import api_token_for
from webhooks.models import OutboxEvent
from webhooks.services import subscription_create
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.services import rollout, wedge_start

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def terminate_this_backend() -> None:
    """Kill the request's own PostgreSQL backend, as a failover or network cut would."""
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        row = other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
        assert row == (True,)


def fault_before(target: Callable[..., Any], fault: Callable[[], None]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fault()
        return target(*args, **kwargs)

    return wrapper


def fail() -> None:
    raise RuntimeError("audit store unavailable")


FAULTS = {
    # Hooks inside wedge_record_snapshot's transaction, after the snapshot
    # INSERT and the wedge UPDATE (rollout._apply saves, then announces).
    # (where, what, the answer: 503 "retry" when the database went away)
    "backend killed at the audit write": ("record_event", terminate_this_backend, 503),
    "backend killed at the outbox write": ("enqueue", terminate_this_backend, 503),
    "audit write raises": ("record_event", fail, 500),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_dropped_connection_leaves_no_half_written_rows(demo, submit, monkeypatch, fault):
    subscription_create(
        actor=demo["dave"], url="http://127.0.0.1:9/hook", secret="s" * 20, events=["RWG-003"]
    )
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    # raise_request_exception=False: answer as the server would, not re-raise.
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=demo['alice'])}")
    before = RolloutWedge.objects.get(proposal=proposal)
    events_before = AuditEvent.objects.count()
    outbox_before = OutboxEvent.objects.count()

    name, action, expected = FAULTS[fault]
    monkeypatch.setattr(rollout, name, fault_before(getattr(rollout, name), action))
    url = f"/api/v1/proposals/{proposal.pk}/metrics/"
    answer = client.post(url, {"metrics": {"error_rate": 0.5}}, format="json")
    assert answer.status_code == expected
    if expected == 503:
        assert answer["Retry-After"] == "5"
        assert answer.json()["errors"][0]["code"] == "unavailable"
    monkeypatch.undo()

    connection.close()  # our side of a killed backend; the next query reconnects
    after = RolloutWedge.objects.get(proposal=proposal)
    assert after.wedge_state == State.ACTIVE
    assert after.exposure_percentage == before.exposure_percentage
    assert after.latest_snapshot_id == before.latest_snapshot_id is None
    assert after.updated_at == before.updated_at
    assert not MetricSnapshot.objects.filter(wedge=after).exists()
    assert AuditEvent.objects.count() == events_before
    assert not AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").exists()
    assert OutboxEvent.objects.count() == outbox_before

    # The service is whole again: the same snapshot now rolls the wedge back.
    retried = client.post(url, {"metrics": {"error_rate": 0.5}}, format="json")
    assert retried.status_code == 200, retried.content
    assert retried.json()["wedge_state"] == State.ROLLED_BACK
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").count() == 1
    assert MetricSnapshot.objects.filter(wedge=after).count() == 1
    assert OutboxEvent.objects.filter(proposal_id=proposal.pk, event_code="RWG-003").count() == 1
