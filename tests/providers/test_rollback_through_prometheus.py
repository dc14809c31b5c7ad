"""The whole loop with nobody pushing: a real Prometheus, a real Celery worker, the engine.

The service's error rate breaks; Prometheus scrapes it; the poll task (on the
``metrics`` queue, run by a real worker) reads it and the wedge rolls back.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from audit.models import AuditEvent
from config.celery import app
from providers.models import MetricProvider, PolledWedge
from providers.polling import poll_round
from tests.providers.conftest import ERROR_RATIO
from tests.providers.stub import stub_backend
from tests.workers import wait_until
from wedges.models import MetricSnapshot, RolloutWedge

P99 = "scalar(vector(150))"


def state_of(proposal) -> str:
    return RolloutWedge.objects.get(proposal=proposal).wedge_state


def poll_now() -> None:
    """What beat sends every interval; dropped if the worker has not taken it in 2 s."""
    app.send_task("providers.tasks.poll", expires=2.0)


def settle() -> None:
    """No poll left queued or running: the test's tables are about to be emptied."""
    app.control.purge()
    assert wait_until(
        lambda: not any((app.control.inspect(timeout=0.5).active() or {}).values()), 30
    )


@pytest.mark.integration
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True)
def test_a_broken_error_rate_rolls_the_wedge_back_through_prometheus_alone(
    celery_worker_process, prometheus, exporter, running_with_queries
):
    MetricProvider.objects.create(name="prometheus", base_url=prometheus.url)
    exporter.set_traffic(ok_per_second=100, errors_per_second=0)
    try:
        prometheus.wait_for(ERROR_RATIO, lambda v: v == 0)
        proposal = running_with_queries(
            {
                "error_rate": {"provider": "prometheus", "query": ERROR_RATIO},
                "p99": {"provider": "prometheus", "query": P99},
            }
        )
        poll_now()
        assert wait_until(
            lambda: MetricSnapshot.objects.filter(wedge__proposal=proposal).exists(), 30
        )
        assert state_of(proposal) == "ACTIVE"

        exporter.set_traffic(ok_per_second=70, errors_per_second=30)
        prometheus.wait_for(ERROR_RATIO, lambda v: v is not None and v > 0.05)

        def rolled_back() -> bool:
            poll_now()
            return state_of(proposal) == "ROLLED_BACK"

        assert wait_until(rolled_back, 60, interval=1.0)
    finally:
        exporter.set_traffic(ok_per_second=100, errors_per_second=0)
        settle()

    # Nobody pushed anything: every snapshot came from the poller.
    snapshots = MetricSnapshot.objects.filter(wedge__proposal=proposal)
    assert not snapshots.filter(reported_by__isnull=False).exists()
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.actor is None
    reading = event.metrics["error_rate"]
    assert reading["value"] > 0.05
    assert (reading["provider"], reading["query"]) == ("prometheus", ERROR_RATIO)
    assert event.data["trigger"]["met"] is True
    assert RolloutWedge.objects.get(proposal=proposal).exposure_percentage == 0


@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_two_rounds_at_once_never_poll_one_wedge_twice(running_with_queries):
    """Two workers' rounds overlap (a slow provider): each wedge is asked once."""
    with stub_backend(sleep_seconds=0.5) as slow:
        MetricProvider.objects.create(name="slow", base_url=slow.url, max_concurrency=8)
        proposals = [
            running_with_queries({"error_rate": {"provider": "slow", "query": "up"}})
            for _ in range(6)
        ]
        reports = []

        def round_in_a_thread() -> None:
            try:
                reports.append(poll_round(recorders=2))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=round_in_a_thread) for _ in range(2)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join()
    assert sorted(report.claimed for report in reports) == [0, 6]
    assert len(slow.requests) == 6
    for proposal in proposals:
        assert MetricSnapshot.objects.filter(wedge__proposal=proposal).count() == 1
        poll = PolledWedge.objects.get(wedge__proposal=proposal)
        assert poll.lease_until is None
