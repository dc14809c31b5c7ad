"""Poll rounds against a real Prometheus: values, variables, missing data, failures, claims."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from audit.models import AuditEvent
from harness.processes import free_port
from providers.models import MetricProvider, PolledWedge
from providers.polling import claim, poll_round
from providers.services import record_poll
from tests.providers.conftest import ERROR_RATIO
from tests.providers.stub import stub_backend
from webhooks.models import OutboxEvent
from wedges.models import MetricSnapshot, RolloutWedge

pytestmark = pytest.mark.django_db
# Now: a real Prometheus answers a query at the time it is asked for, so the
# tests that read its scraped series travel no further than a second from now.
# Those that cross hours read constant queries, true at any time.
T0 = datetime.now(UTC).replace(microsecond=0)
INTERVAL = timedelta(seconds=10)
P99 = "scalar(vector(150))"
HEALTHY_RATE = "scalar(vector(0.001))"


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def wedge(proposal) -> RolloutWedge:
    return RolloutWedge.objects.select_related("latest_snapshot").get(proposal=proposal)


def poll(moment: datetime, **options):
    with at(moment):
        return poll_round(recorders=0, **options)


def events(proposal, code: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(proposal_id=proposal.pk, code=code).order_by("id"))


@pytest.fixture
def started(running_with_queries):
    """A wedge polling the real Prometheus for both metrics its first stage names."""

    def make(**queries):
        queries = queries or {
            "error_rate": {"provider": "prometheus", "query": ERROR_RATIO},
            "p99": {"provider": "prometheus", "query": P99},
        }
        with at(T0):
            return running_with_queries(queries)

    return make


def test_a_round_records_each_value_with_its_query(provider, started, exporter, prometheus):
    exporter.set_traffic(ok_per_second=100, errors_per_second=0)
    prometheus.wait_for(ERROR_RATIO, lambda v: v == 0)
    proposal = started()
    now = datetime.now(UTC)
    report = poll(now)
    assert (report.claimed, report.recorded, report.failed_queries) == (1, 1, 0)
    snapshot = wedge(proposal).latest_snapshot
    assert snapshot.reported_by is None  # nobody pushed it
    assert snapshot.values == {"error_rate": 0.0, "p99": 150.0}
    assert snapshot.evidence["error_rate"] == {
        "value": 0.0,
        "received_at": now.isoformat(),
        "provider": "prometheus",
        "query": ERROR_RATIO,
    }
    state = PolledWedge.objects.get(wedge__proposal=proposal).state
    assert state["p99"]["value"] == 150.0
    assert state["p99"]["read_at"] == now.isoformat()
    assert state["p99"]["failures"] == 0


def test_variables_are_quoted_into_the_query_sent(started, demo):
    query = (
        'errors{proposal="{{proposal_id}}", stage={{stage_id}}, ref="{{external_reference}}"}'
        " / {{exposure_percentage}}"
    )
    with stub_backend() as stub:
        MetricProvider.objects.create(name="stub", base_url=stub.url)
        proposal = started(error_rate={"provider": "stub", "query": query})
        poll(T0)
    sent = stub.requests[0]["params"]["query"]
    assert sent == f'errors{{proposal="{proposal.pk}", stage="initial", ref="ci/run/1234"}} / 5'
    assert wedge(proposal).latest_snapshot.evidence["error_rate"]["query"] == sent


@pytest.mark.parametrize(
    ("query", "note"),
    [('app_test_value{case="absent"}', "empty result"), ("scalar(vector(0) / 0)", "NaN")],
)
def test_no_data_is_recorded_as_missing_and_leaves_criteria_unmet(provider, started, query, note):
    proposal = started(
        error_rate={"provider": "prometheus", "query": query},
        p99={"provider": "prometheus", "query": P99},
    )
    poll(T0)
    running = wedge(proposal)
    assert running.latest_snapshot.values["error_rate"] is None
    assert running.latest_snapshot.evidence["error_rate"]["note"] == note
    # Past the window and the planned duration, it still cannot advance.
    poll(T0 + timedelta(hours=1))
    from wedges.services import wedges_tick

    wedges_tick(now=T0 + timedelta(hours=1))
    running = wedge(proposal)
    assert running.current_stage_id == "initial"
    assert running.wedge_state == "ACTIVE"


def test_the_wedge_advances_on_polled_values(provider, started):
    proposal = started(
        error_rate={"provider": "prometheus", "query": HEALTHY_RATE},
        p99={"provider": "prometheus", "query": P99},
    )
    poll(T0 + timedelta(minutes=59, seconds=55))
    from wedges.services import wedges_tick

    wedges_tick(now=T0 + timedelta(hours=1))
    assert wedge(proposal).current_stage_id == "canary"


# --- Failures: counted per query, held at the limit, never advanced ------------------------


@pytest.fixture
def unreachable(db):
    return MetricProvider.objects.create(
        name="prometheus", base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1
    )


def test_failures_pause_the_wedge_at_the_limit_and_name_the_provider(unreachable, started):
    proposal = started()
    poll(T0)
    assert wedge(proposal).wedge_state == "ACTIVE"
    (failing,) = events(proposal, "WDG-601")
    assert "connection refused" in failing.reason
    assert failing.actor is None
    # One outbox row, announced from the audit trail, for subscribers in every format.
    (announced,) = OutboxEvent.objects.filter(proposal_id=proposal.pk, event_code="WDG-601")
    assert announced.payload["reason"] == failing.reason
    assert announced.payload["data"]["providers"] == ["prometheus"]
    state = PolledWedge.objects.get(wedge__proposal=proposal)
    assert state.failing_since == T0
    assert state.failing_providers == ["prometheus"]
    assert state.state["error_rate"]["failures"] == 1
    assert state.state["error_rate"]["error_code"] == "connection_error"
    poll(T0 + INTERVAL)
    assert wedge(proposal).wedge_state == "ACTIVE"
    poll(T0 + 2 * INTERVAL)  # the third failure in a row
    assert wedge(proposal).wedge_state == "PAUSED"
    (paused,) = events(proposal, "RWG-002")
    assert paused.actor is None
    assert "metric provider 'prometheus' failed 3 times in a row" in paused.reason
    assert "connection refused" in paused.reason
    assert paused.data["rule"] == "system_hold"
    assert paused.data["error_code"] == "connection_error"
    # The failing metrics are in the event's snapshot, as no data with their error.
    assert paused.metrics["error_rate"]["value"] is None
    assert "connection refused" in paused.metrics["error_rate"]["error"]
    # Still polled while paused (a trigger could still fire); announced once.
    poll(T0 + 3 * INTERVAL)
    assert len(events(proposal, "RWG-002")) == 1
    assert len(events(proposal, "WDG-601")) == 1
    assert PolledWedge.objects.get(wedge__proposal=proposal).state["error_rate"]["failures"] == 4


def test_a_success_resets_the_count(unreachable, started, prometheus):
    proposal = started()
    poll(T0)
    poll(T0 + INTERVAL)
    MetricProvider.objects.filter(pk=unreachable.pk).update(base_url=prometheus.url)
    poll(T0 + 2 * INTERVAL)
    assert len(events(proposal, "WDG-602")) == 1
    state = PolledWedge.objects.get(wedge__proposal=proposal)
    assert (state.failing_since, state.failing_providers) == (None, [])
    assert state.state["error_rate"]["failures"] == 0
    # The last error stays on show, with its time.
    assert state.state["error_rate"]["error_code"] == "connection_error"
    MetricProvider.objects.filter(pk=unreachable.pk).update(base_url="http://127.0.0.1:1")
    poll(T0 + 3 * INTERVAL)
    poll(T0 + 4 * INTERVAL)
    assert wedge(proposal).wedge_state == "ACTIVE"  # 2 in a row, not 3
    assert len(events(proposal, "WDG-601")) == 2


@override_settings(WEDGE_METRICS_FAILURE_LIMIT=1)
def test_a_failing_provider_never_lets_the_wedge_advance(unreachable, started, demo):
    """Healthy values pushed before the provider failed do not count once it fails."""
    from wedges.services import wedge_record_snapshot, wedges_tick

    proposal = started()
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics={"error_rate": 0.001, "p99": "150ms"},
        actor=demo["alice"],
        now=T0 + timedelta(minutes=59),
    )
    with override_settings(WEDGE_METRICS_FAILURE_LIMIT=5):
        poll(T0 + timedelta(minutes=59, seconds=30))
    wedges_tick(now=T0 + timedelta(hours=1))
    assert wedge(proposal).current_stage_id == "initial"


def test_a_stored_query_whose_provider_is_gone_fails(provider, started):
    proposal = started()
    provider.delete()
    poll(T0)
    state = PolledWedge.objects.get(wedge__proposal=proposal).state
    assert state["error_rate"]["error_code"] == "unknown_provider"
    assert "no metric provider 'prometheus'" in state["error_rate"]["error"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("sum(rate(app_requests_total[5s])", "query_error"),
        ('app_requests_total{job="app"}', "multiple_series"),
    ],
    ids=["bad PromQL", "two series"],
)
def test_a_query_prometheus_refuses_is_a_failure_shown_with_its_message(
    provider, started, query, code
):
    proposal = started(error_rate={"provider": "prometheus", "query": query})
    now = datetime.now(UTC)
    poll(now)
    state = PolledWedge.objects.get(wedge__proposal=proposal)
    assert state.state["error_rate"]["error_code"] == code
    assert state.failing_since == now
    assert wedge(proposal).latest_snapshot.values == {"error_rate": None}


# --- Claims: due, leased, never twice at once --------------------------------------------


def test_a_wedge_is_due_once_per_interval(provider, started):
    proposal = started()
    assert poll(T0).claimed == 1
    assert poll(T0 + INTERVAL - timedelta(microseconds=1)).claimed == 0
    assert poll(T0 + INTERVAL).claimed == 1
    assert MetricSnapshot.objects.filter(wedge__proposal=proposal).count() == 2


def test_a_leased_wedge_is_not_claimed_until_its_lease_runs_out(provider, started):
    started()
    lease = T0 + timedelta(minutes=1)
    assert len(claim(now=T0, lease_until=lease)) == 1
    assert claim(now=T0 + INTERVAL, lease_until=lease + INTERVAL) == []
    assert claim(now=lease - timedelta(microseconds=1), lease_until=lease + INTERVAL) == []
    # A round that died leaves its lease; once it has run out, the wedge is polled again.
    assert len(claim(now=lease, lease_until=lease + INTERVAL)) == 1


def test_only_running_wedges_are_polled(provider, started, demo):
    from wedges.services import wedge_rollback

    proposal = started()
    wedge_rollback(proposal_id=proposal.pk, actor=demo["dave"], reason="stop", now=T0)
    assert poll(T0).claimed == 0


def test_a_paused_wedge_is_still_polled(provider, started, demo):
    from wedges.services import wedge_pause

    proposal = started()
    wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold", now=T0)
    assert poll(T0).claimed == 1


# --- Bounds: one slow provider, a provider busy past the round --------------------------


def test_one_slow_provider_does_not_stall_the_others(provider, started, db):
    recorded: dict[int, float] = {}
    with stub_backend(sleep_seconds=2) as slow:
        MetricProvider.objects.create(name="slow", base_url=slow.url, timeout_seconds=5)
        on_slow = started(error_rate={"provider": "slow", "query": "up"})
        on_fast = started(error_rate={"provider": "prometheus", "query": P99})
        began = time.monotonic()

        def record(job, answers):
            recorded[job.proposal_id] = time.monotonic() - began
            return record_poll(job, answers)

        report = poll(T0, record=record)
    assert report.recorded == 2
    assert recorded[on_fast.pk] < 1.0 < 2.0 <= recorded[on_slow.pk]


@override_settings(WEDGE_METRICS_POLL_SECONDS=1)
def test_queries_still_waiting_when_the_round_ends_are_asked_next_round(started, db):
    """Not sent is not failed: the provider was busy, not down, and nothing is counted."""
    with stub_backend(sleep_seconds=0.8) as busy:
        MetricProvider.objects.create(
            name="busy", base_url=busy.url, timeout_seconds=1.5, max_concurrency=1
        )
        proposals = [started(error_rate={"provider": "busy", "query": "up"}) for _ in range(4)]
        began = time.monotonic()
        report = poll(T0)
        elapsed = time.monotonic() - began
        polls = [PolledWedge.objects.get(wedge__proposal=p) for p in proposals]
        answered = [row for row in polls if row.state]
        waiting = [row for row in polls if not row.state]
        # 1.5 s to send: two answered (0.8 s each, one at a time), two never sent.
        assert (len(answered), len(waiting)) == (2, 2)
        assert busy.max_in_flight == 1
        assert (report.failed_queries, report.skipped_queries) == (0, 2)
        assert elapsed < 2.5
        for row in waiting:
            assert row.failing_since is None
            assert row.lease_until is None
            assert row.next_poll_at == T0  # due again at once, first in line
            assert not MetricSnapshot.objects.filter(wedge=row.wedge).exists()
        assert sorted(row.next_poll_at for row in answered) == [T0 + timedelta(seconds=1)] * 2
        # The next round takes the two that waited first.
        second = poll(T0 + timedelta(milliseconds=500), limit=2)
    assert second.claimed == 2
    assert all(PolledWedge.objects.get(pk=p.pk).state for p in waiting)


@override_settings(WEDGE_METRICS_BATCH=2, WEDGE_METRICS_POLL_SECONDS=7, WEDGE_METRICS_RECORDERS=0)
def test_beat_claims_the_due_wedges_in_batches_for_the_workers(provider, started, monkeypatch):
    from providers import tasks

    proposals = [started() for _ in range(5)]
    sent = []
    monkeypatch.setattr(tasks.poll_batch, "apply_async", lambda **options: sent.append(options))
    with at(T0):
        assert tasks.poll() == {"due": 5, "batches": 3}
    assert [len(options["args"][0]) for options in sent] == [2, 2, 1]
    assert {options["expires"] for options in sent} == {60.0}  # batches wait for busy workers
    # While the batches wait in the queue, the next tick sends no second batch for them.
    with at(T0 + timedelta(seconds=7)):
        assert tasks.poll() == {"due": 0, "batches": 0}
    with at(T0 + timedelta(seconds=8)):
        claimed = [tasks.poll_batch(*options["args"])["claimed"] for options in sent]
    assert claimed == [2, 2, 1]
    for proposal in proposals:
        assert MetricSnapshot.objects.filter(wedge__proposal=proposal).count() == 1
        assert PolledWedge.objects.get(wedge__proposal=proposal).claim is None


@override_settings(WEDGE_METRICS_RECORDERS=0)
def test_a_batch_that_waited_past_its_lease_leaves_its_wedges_to_the_next_claim(provider, started):
    import uuid

    started()
    late, fresh = uuid.uuid4(), uuid.uuid4()
    ids = claim(now=T0, lease_until=T0 + timedelta(minutes=1), token=late)
    assert ids
    # The lease ran out before a worker took the batch; the next tick claimed anew.
    later = T0 + timedelta(minutes=1)
    assert claim(now=later, lease_until=later + timedelta(minutes=1), token=fresh) == ids
    with at(later):
        assert poll_round(claimed=(ids, late)).claimed == 0
        assert poll_round(claimed=(ids, fresh)).claimed == 1
