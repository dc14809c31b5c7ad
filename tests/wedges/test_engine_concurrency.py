"""Concurrent snapshots, ticks and operators: one outcome, one event."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEvent
from org.tokens import api_token_for
from wedges.models import RolloutWedge
from wedges.services import RolloutRefused, wedge_pause, wedges_tick

HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


@pytest.mark.django_db(transaction=True)
def test_twenty_racing_snapshots_roll_back_exactly_once(demo, submit):
    proposal = submit("alice")
    token = api_token_for(user=demo["dave"])
    start = APIClient()
    start.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert (
        start.post(f"/api/v1/proposals/{proposal.pk}/start/", {}, format="json").status_code == 200
    )
    barrier = threading.Barrier(22)
    url = f"/api/v1/proposals/{proposal.pk}/metrics/"

    def post(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            metrics = BREACH if index % 2 else HEALTHY
            return client.post(url, {"metrics": metrics}, format="json").status_code
        finally:
            connection.close()

    def tick() -> int:
        barrier.wait()
        try:
            for _ in range(5):
                wedges_tick()
            return 0
        finally:
            connection.close()

    def operator() -> int:
        barrier.wait()
        try:
            wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold")
            return 200
        except RolloutRefused:
            return 409
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=22) as pool:
        futures = [pool.submit(post, i) for i in range(20)]
        futures += [pool.submit(tick), pool.submit(operator)]
        statuses = [f.result(timeout=60) for f in futures]

    assert set(statuses[:20]) <= {200, 409}, statuses  # 409: the wedge had already rolled back
    wedge = RolloutWedge.objects.get(proposal=proposal)
    assert wedge.wedge_state == "ROLLED_BACK"
    assert wedge.exposure_percentage == 0
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").count() == 1
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-002").count() <= 1
    # Every snapshot that was accepted is stored; none after the rollback.
    accepted = statuses[:20].count(200)
    assert wedge.snapshots.count() == accepted
