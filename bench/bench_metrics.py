"""Metric gates that read Prometheus, on the real stack: a real Prometheus, a Celery worker, beat.

    .venv/bin/python -m bench.bench_metrics

Figures (each printed with how it was measured):

* breach visible in Prometheus -> RWG-003 committed: the bench's exporter
  turns one wedge's error ratio bad; the clock starts when Prometheus first
  answers the breaching value and stops when the wedge's RWG-003 is in the
  audit trail, with beat sending a poll round every second
  (``WEDGE_METRICS_POLL_SECONDS=1``) and a real worker polling, p50/p99 over
  ``ROLLBACKS`` rollbacks one at a time;
* one poll round at 1,000 running wedges with two queries each against the
  real Prometheus, in this process (``providers.polling.poll_round``).

Run alone it drops and re-creates its own database (``wedge_bench_metrics``);
from ``bench.run`` it reuses the stack benchmark's database and settings.
Every process it starts is stopped by its PID; Prometheus and the exporter too.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Row, check, ms, percentile, print_rows
from bench.seed import copy_started
from bench.stack import Stack, configure_environment, flush_redis, recreate_database

POLL_SECONDS = 1
ROLLBACKS = 60  # measured, one at a time
WARMUP_ROLLBACKS = 5
ROUND_WEDGES = 1_000
ROUNDS = 1  # each takes minutes on a busy 2-core machine
HEALTHY_RATIO = 0.001
BREACH_RATIO = 0.2
ROLLBACK_TIMEOUT = 30.0
FANOUT_TIMEOUT = 600
ERROR_RATE = 'max(bench_error_ratio{proposal="{{proposal_id}}"})'
P99 = 'max(bench_p99_ms{proposal="{{proposal_id}}"})'
PROPOSAL: dict[str, Any] = {
    "title": "Bench rollout polled from Prometheus",
    "change_type": "connector_deployment",
    "subsystem": "connector-runtime",
    "external_reference": "bench/metrics",
    "rollout_wedge": {
        "initial_percentage": 5,
        "increment_policy": "linear",
        "max_blast_radius": 90,
        "observation_window_hours": 1.0,
        "metric_queries": {
            "error_rate": {"provider": "prometheus", "query": ERROR_RATE},
            "p99": {"provider": "prometheus", "query": P99},
        },
        "wedge_stages": [
            {
                "stage_id": stage_id,
                "target_percentage": target,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
            }
            for stage_id, target in (("canary", 10), ("half", 50), ("full", 90))
        ],
    },
}


@dataclass
class Context:
    exporter: Any
    prometheus: Any
    template: Any = None
    first_number: int = 1_000_000
    rows: list[Row] = field(default_factory=list)


def seed_polled(ctx: Context, count: int, *, due_in: float = 0.0) -> list[int]:
    """``count`` started wedges with the template's queries (bulk copies); their proposal ids."""
    from datetime import timedelta

    from django.utils import timezone

    from providers.models import PolledWedge
    from wedges.models import RolloutWedge

    now = timezone.now()
    ids = copy_started(ctx.template, count, now=now, first_number=ctx.first_number)
    ctx.first_number += count
    queries = PolledWedge.objects.get(wedge__proposal=ctx.template).queries
    wedge_ids = RolloutWedge.objects.filter(proposal_id__in=ids).values_list("pk", flat=True)
    PolledWedge.objects.bulk_create(
        PolledWedge(wedge_id=pk, queries=queries, next_poll_at=now + timedelta(seconds=due_in))
        for pk in wedge_ids
    )
    for proposal_id in ids:
        ctx.exporter.set(proposal_id, HEALTHY_RATIO)
    return ids


def make_template(ctx: Context) -> None:
    """One proposal through the real submission and start (its queries checked, polled)."""
    from org.demo import seed_demo
    from org.models import User
    from providers.models import MetricProvider
    from wedges.services import proposal_submit, wedge_start
    from wedges.submission import check_submission

    seed_demo()
    MetricProvider.objects.update_or_create(
        name="prometheus",
        defaults={"base_url": ctx.prometheus.url, "timeout_seconds": 5, "max_concurrency": 8},
    )
    verdict = check_submission(PROPOSAL)
    check(verdict.valid, verdict.to_dict())
    proposal = proposal_submit(check=verdict, author=User.objects.get(username="pipeline")).proposal
    wedge_start(proposal_id=proposal.pk, actor=User.objects.get(username="dave"), reason="bench")
    ctx.exporter.set(proposal.pk, HEALTHY_RATIO)
    ctx.template = proposal


# --- The exporter: one error ratio and one p99 per proposal ---------------------------------


@dataclass
class BenchExporter:
    server: Any
    ratio: Any
    p99: Any
    port: int

    @classmethod
    def start(cls) -> BenchExporter:
        from prometheus_client import CollectorRegistry, Gauge, start_http_server

        from harness.processes import free_port

        registry = CollectorRegistry()
        ratio = Gauge("bench_error_ratio", "Error ratio", ["proposal"], registry=registry)
        p99 = Gauge("bench_p99_ms", "p99 latency (ms)", ["proposal"], registry=registry)
        port = free_port()
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
        return cls(server, ratio, p99, port)

    def set(self, proposal_id: int, ratio: float) -> None:
        self.ratio.labels(proposal=str(proposal_id)).set(ratio)
        self.p99.labels(proposal=str(proposal_id)).set(150)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- (a) Breach visible in Prometheus -> RWG-003 committed ------------------------------


def bench_rollbacks(ctx: Context, stack: Stack) -> None:
    from audit.models import AuditEvent

    targets = seed_polled(ctx, WARMUP_ROLLBACKS + ROLLBACKS)
    stack.start_mail()
    stack.start_worker()
    stack.start_beat()
    stack.wait_for_worker()
    # Every target polled healthy at least once before the first breach.
    time.sleep(3 * POLL_SECONDS)
    latencies: list[float] = []
    visibility: list[float] = []
    lost: list[int] = []
    for n, proposal_id in enumerate(targets):
        query = ERROR_RATE.replace("{{proposal_id}}", str(proposal_id))
        changed = time.perf_counter()
        ctx.exporter.set(proposal_id, BREACH_RATIO)
        ctx.prometheus.wait_for(
            query, lambda value: value is not None and value > 0.05, timeout=10, interval=0.01
        )
        visible = time.perf_counter()
        deadline = visible + ROLLBACK_TIMEOUT
        committed = None
        while time.perf_counter() < deadline:
            if AuditEvent.objects.filter(proposal_id=proposal_id, code="RWG-003").exists():
                committed = time.perf_counter()
                break
            time.sleep(0.005)
        stack.check_alive()
        if n < WARMUP_ROLLBACKS:
            continue
        if committed is None:
            lost.append(proposal_id)
            continue
        latencies.append(committed - visible)
        visibility.append(visible - changed)
    check(not lost, f"no rollback within {ROLLBACK_TIMEOUT:.0f} s for {lost[:10]}")
    events = AuditEvent.objects.filter(proposal_id__in=targets, code="RWG-003")
    check(events.count() == len(targets), "one RWG-003 per breached wedge")
    check(all(event.actor_id is None for event in events), "the poller rolled them back")
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    section = "Prometheus -> rollback"
    how = (
        f"{len(latencies)} rollbacks one at a time (after {WARMUP_ROLLBACKS} warm-ups), "
        f"{len(targets)} wedges polled (2 queries each) by a real worker, beat every "
        f"{POLL_SECONDS} s; clock from Prometheus first answering the breaching value "
        "(checked every 10 ms) to the RWG-003 row being readable"
    )
    ctx.rows += [
        Row(section, "breach visible -> RWG-003 p50", ms(p50), how),
        Row(section, "breach visible -> RWG-003 p99", ms(p99), "same samples, nearest rank"),
        Row(section, "max", ms(max(latencies)), "slowest of the measured rollbacks"),
        Row(
            section,
            "p99 / policy's 60 s",
            f"{p99 / 60:.3%}",
            "INV-RWG-ROLLBACK allows 60 s from trigger to reverted",
        ),
        Row(
            section,
            "exporter -> visible in Prometheus p50",
            ms(percentile(visibility, 0.5)),
            "not part of the figure above: the scrape (every 500 ms) before Prometheus knows",
        ),
    ]


# --- (b) One poll round at 1,000 running wedges ------------------------------------------


def bench_fanout(ctx: Context, stack: Stack) -> None:
    """All 1,000 due at once, polled by beat's fan-out over the worker pool."""
    from datetime import timedelta

    from django.utils import timezone

    from providers.models import PolledWedge
    from wedges.models import State

    running = PolledWedge.objects.filter(wedge__wedge_state__in=[State.ACTIVE, State.PAUSED])
    running.update(next_poll_at=timezone.now() + timedelta(hours=1))
    seed_polled(ctx, ROUND_WEDGES - running.count(), due_in=3600)  # the template still runs
    check(running.count() == ROUND_WEDGES, running.count())
    rounds = []
    for _ in range(ROUNDS):
        while running.filter(lease_until__gt=timezone.now()).exists():
            time.sleep(0.1)
        start = timezone.now()
        began = time.perf_counter()
        running.update(next_poll_at=start)
        deadline = began + FANOUT_TIMEOUT
        while (polled := running.filter(polled_at__gte=start).count()) < ROUND_WEDGES:
            stack.check_alive()
            if time.perf_counter() > deadline:
                break
            time.sleep(0.05)
        rounds.append(time.perf_counter() - began)
        running.update(next_poll_at=timezone.now() + timedelta(hours=1))
        check(polled == ROUND_WEDGES, f"{polled} of {ROUND_WEDGES} polled in {FANOUT_TIMEOUT} s")
    from django.conf import settings

    ctx.rows.append(
        Row(
            "Prometheus -> rollback",
            f"one poll round, {ROUND_WEDGES:,} wedges (worker pool)",
            ms(statistics.median(rounds)),
            f"{ROUNDS} round(s): from all {ROUND_WEDGES:,} made due at once until every one "
            f"has been asked (2 queries each to the real Prometheus) and recorded through "
            f"wedge_record_snapshot; beat every {POLL_SECONDS} s fans out batches of "
            f"{settings.WEDGE_METRICS_BATCH} over one worker of concurrency "
            f"{stack.worker_concurrency}; min {ms(min(rounds))}, max {ms(max(rounds))}",
        )
    )


# --- (b) One poll round at 1,000 running wedges ------------------------------------------


def bench_round(ctx: Context) -> None:
    """The same 1,000 in one round in this process: what one batch task does, scaled up."""
    from django.utils import timezone

    from providers.models import PolledWedge
    from providers.polling import poll_round
    from wedges.models import State

    running = PolledWedge.objects.filter(wedge__wedge_state__in=[State.ACTIVE, State.PAUSED])
    check(running.count() == ROUND_WEDGES, running.count())
    rounds = []
    for _ in range(ROUNDS):
        running.update(next_poll_at=timezone.now(), lease_until=None)
        began = time.perf_counter()
        report = poll_round(limit=ROUND_WEDGES)
        rounds.append((time.perf_counter() - began, report))
        check(report.claimed == ROUND_WEDGES, report)
        check(report.failed_queries == 0, report)
    seconds = statistics.median(elapsed for elapsed, _ in rounds)
    queries = rounds[0][1].queries
    section = "Prometheus -> rollback"
    from django.conf import settings

    ctx.rows += [
        Row(
            section,
            f"one poll round, {ROUND_WEDGES:,} wedges (one process)",
            ms(seconds),
            f"poll_round() in this process, {ROUNDS} round(s): {ROUND_WEDGES:,} due running "
            f"wedges claimed, {queries:,} instant queries to the real Prometheus (8 at once), "
            f"each wedge's snapshot through wedge_record_snapshot on "
            f"{settings.WEDGE_METRICS_RECORDERS} recorder threads; min "
            f"{ms(min(e for e, _ in rounds))}, max {ms(max(e for e, _ in rounds))}; "
            f"{rounds[0][1].skipped_queries} queries left for the next round",
        ),
    ]


# --- The run --------------------------------------------------------------------------


def run(*, fresh: bool = False) -> list[Row]:
    """The figures; ``fresh``: its own database (run alone), else the stack's (bench.run)."""
    if fresh:
        os.environ.setdefault(
            "WEDGE_BENCH_STACK_DATABASE_URL",
            "postgres://postgres:postgres@127.0.0.1:5432/wedge_bench_metrics",
        )
    # The worker and beat this benchmark starts poll every second.
    os.environ["WEDGE_METRICS_POLL_SECONDS"] = str(POLL_SECONDS)
    env = configure_environment()
    if fresh:
        recreate_database(env["DATABASE_URL"])
        flush_redis(env["REDIS_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if fresh:
        call_command("migrate", verbosity=0, interactive=False)
    settings.WEDGE_METRICS_POLL_SECONDS = POLL_SECONDS

    from harness.prometheus import Prometheus, scrape_job

    exporter = BenchExporter.start()
    directory = Path(tempfile.mkdtemp(prefix="wedge-bench-prometheus-"))
    job = scrape_job("bench", f"127.0.0.1:{exporter.port}", interval="500ms")
    stack = Stack()
    rows: list[Row] = []
    try:
        with Prometheus.running(directory, [job]) as prometheus:
            prometheus.wait_for_target("bench")
            ctx = Context(exporter, prometheus)
            make_template(ctx)
            print(
                f"bench_metrics: Prometheus {prometheus.version()} on {prometheus.url}, "
                f"scraping every 500 ms",
                flush=True,
            )
            try:
                bench_rollbacks(ctx, stack)
                print("bench_metrics: rollbacks measured", flush=True)
                print_rows("Prometheus -> rollback (so far)", ctx.rows)
                bench_fanout(ctx, stack)
                print("bench_metrics: fanned-out round measured", flush=True)
            finally:
                stack.stop_all()
            bench_round(ctx)
            print("bench_metrics: poll round measured", flush=True)
            rows = ctx.rows
    finally:
        exporter.stop()
        os.environ.pop("WEDGE_METRICS_POLL_SECONDS", None)
    return rows


def main() -> None:
    rows = run(fresh=True)
    print_rows("Prometheus -> rollback", rows)


if __name__ == "__main__":
    main()
