"""The closed loop on real traffic: canary starts failing -> traffic off the canary.

    .venv/bin/python -m bench.bench_closed_loop

The same parts as ``tests/loop/test_closed_loop.py``, on the benchmark stack
(gunicorn, a Celery worker and beat with ``WEDGE_METRICS_POLL_SECONDS=1``,
PostgreSQL, Redis): two WSGI backends behind HAProxy, a steady load through
HAProxy, a real Prometheus scraping the backends every second, and the
reference agent following the proposal by signed webhooks (poll fallback 20 s).
Each run starts a fresh wedge (10 % on the canary), waits until Wedge has polled
it healthy, then makes half of the canary's answers 500s and times:

* **detection**: the canary failing -> the poll that read the breach (the
  snapshot's ``received_at``, which is also the RWG-003 event's ``occurred_at``):
  Prometheus's scrape, the rate window filling, and the wait for the next poll;
  ``scrape`` is the part until Prometheus first answers the breaching value
  (this script asks it every 10 ms);
* **decision**: that poll -> the RWG-003 row committed (this script reads the
  audit table every 5 ms): locks, the engine's decision, audit, outbox;
* **actuation**: RWG-003 committed -> the agent's ``event=applied`` line (its
  ``ts``): the signed webhook from the worker, the agent re-reading
  ``desired-state/``, and ``set server`` on HAProxy's runtime API;
* **total**: the canary failing -> this script reading weight 0 from HAProxy
  (``get weight`` every 5 ms), then checked against HAProxy's counters
  (``show stat``): not one request more reached the canary.

All times are this machine's wall clock (one clock for every process).
Then the same detection settings under Flagger's and Argo Rollouts' defaults,
by their documented formulas. Every process it starts is stopped by its PID.
"""

from __future__ import annotations

import copy
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import print_table
from bench.measure import Row, check, percentile
from bench.stack import ROOT, Stack, configure_environment, flush_redis, recreate_database

RUNS = 10  # measured, one at a time
WARMUP_RUNS = 1
POLL_SECONDS = 1  # Wedge's poll of Prometheus (beat)
SCRAPE_SECONDS = 1  # Prometheus's scrape of the backends
WINDOW = "4s"  # the rate() window of the query
RATE = 60  # requests a second through HAProxy, during the whole benchmark
FAILURE_RATIO = 0.5
INITIAL = 10  # % on the canary: 25 of HAProxy's 256
RUN_TIMEOUT = 60.0
SECRET = "bench-closed-loop-secret"
ERROR_RATE = (
    f'sum(rate(loop_requests_total{{job="canary", code="500"}}[{WINDOW}]))'
    f' / sum(rate(loop_requests_total{{job="canary"}}[{WINDOW}]))'
)
PROPOSAL: dict[str, Any] = {
    "title": "Bench: the closed loop",
    "change_type": "connector_deployment",
    "subsystem": "connector-runtime",
    "external_reference": "bench/closed-loop",
    "rollout_wedge": {
        "initial_percentage": INITIAL,
        "increment_policy": "linear",
        "max_blast_radius": 90,
        "observation_window_hours": 1.0,
        "metric_queries": {"error_rate": {"provider": "prometheus", "query": ERROR_RATE}},
        "wedge_stages": [
            {
                "stage_id": stage_id,
                "target_percentage": target,
                "duration_hours": 1,
                "success_criteria": ["error_rate < 0.01"],
                "rollback_trigger": "error_rate > 0.05",
            }
            for stage_id, target in (("canary", 10), ("half", 50), ("full", 90))
        ],
    },
}


@dataclass
class Sample:
    scrape: float
    detection: float
    decision: float
    actuation: float
    total: float
    agent_latency: float  # the agent's own latency_ms: RWG-003 occurred_at -> applied


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def applied_line(log: Path) -> dict[str, str]:
    """The agent's ``event=applied ... code=RWG-003`` line as a dict (logfmt, no spaces in
    the values this benchmark reads)."""
    for line in log.read_text().splitlines():
        if "event=applied" in line and "code=RWG-003" in line:
            return dict(pair.split("=", 1) for pair in line.split() if "=" in pair)
    return {}


def start_agent(directory: Path, *, url: str, token: str, port: int, proposal: int, socket: Path):
    config = directory / f"agent-{proposal}.toml"
    config.write_text(
        f'[wedge]\nurl = "{url}"\ntoken = "{token}"\npoll_seconds = 20\n'
        f'[webhook]\nlisten = "127.0.0.1:{port}"\nsecret = "{SECRET}"\n'
        f'[haproxy]\nsocket = "{socket}"\nretry_seconds = 0.2\n'
        f'[[follow]]\nproposal = {proposal}\nbackend = "app"\nstable = "stable"\n'
        'canary = "canary"\n'
    )
    log = directory / f"agent-{proposal}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "--config", str(config)], cwd=ROOT, stderr=out
        )
    return process, log


def stop_agent(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def listening(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


def wait(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        check(time.monotonic() < deadline, f"{what} within {timeout:g} s")
        time.sleep(interval)


def one_run(ctx: dict[str, Any], directory: Path, stack: Stack) -> Sample:
    from audit.models import AuditEvent
    from org.models import User
    from wedges.models import MetricSnapshot, RolloutWedge
    from wedges.services import proposal_submit, wedge_start
    from wedges.submission import check_submission

    haproxy, prometheus, canary = ctx["haproxy"], ctx["prometheus"], ctx["canary"]
    # The last run's errors must have left the rate window before a new wedge reads it.
    canary.fail(0)
    time.sleep(5)
    verdict = check_submission(copy.deepcopy(PROPOSAL))
    check(verdict.valid, verdict.to_dict())
    proposal = proposal_submit(check=verdict, author=User.objects.get(username="pipeline")).proposal
    # The agent listens before the wedge starts, so every delivery finds it.
    agent, log = start_agent(
        directory,
        url=stack.base_url,
        token=ctx["token"],
        port=ctx["agent_port"],
        proposal=proposal.pk,
        socket=haproxy.socket,
    )
    try:
        wait(lambda: listening(ctx["agent_port"]), 30, "the agent listening")
        dave = User.objects.get(username="dave")
        wedge_start(proposal_id=proposal.pk, actor=dave, reason="bench")
        wait(lambda: haproxy.weights() == (25, 231), 30, "the agent reconciled to 10 %")
        prometheus.wait_for(ERROR_RATE, lambda value: value == 0, timeout=20)
        wait(
            lambda: MetricSnapshot.objects.filter(
                wedge__proposal=proposal, values__error_rate=0
            ).exists(),
            20,
            "a healthy poll",
        )
        check(RolloutWedge.objects.get(proposal=proposal).wedge_state == "ACTIVE", proposal.pk)

        failed = time.time()
        canary.fail(FAILURE_RATIO)
        visible = committed = zero = None
        deadline = time.monotonic() + RUN_TIMEOUT
        while zero is None or committed is None:
            stack.check_alive()
            check(time.monotonic() < deadline, f"no weight 0 within {RUN_TIMEOUT:g} s")
            now = time.time()
            if visible is None:
                value = prometheus.value(ERROR_RATE)
                if value is not None and value > 0.05:
                    visible = now
            if committed is None and (
                AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").exists()
            ):
                committed = now
            if zero is None and haproxy.weights()[0] == 0:
                zero = now
            time.sleep(0.005)
        check(visible is not None, "Prometheus never answered the breach")
        # Traffic is off the canary: HAProxy's own counters for the next second.
        canary_sent, stable_sent = haproxy.sent()
        time.sleep(1.0)
        canary_later, stable_later = haproxy.sent()
        check(canary_later == canary_sent, "requests reached the canary after weight 0")
        check(stable_later > stable_sent, "stable stopped serving")
        wait(lambda: applied_line(log), 10, "the agent's applied line")
    finally:
        stop_agent(agent)
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    check(event.actor_id is None, "the poller rolled it back")
    check(event.metrics["error_rate"]["value"] > 0.05, event.metrics)
    polled = event.occurred_at.timestamp()
    line = applied_line(log)
    check(line.get("canary_weight") == "25->0", line)
    applied = _ts(line["ts"])
    check(None not in (visible, committed, zero), "every moment was seen")
    assert visible is not None
    assert committed is not None
    assert zero is not None
    return Sample(
        scrape=visible - failed,
        detection=polled - failed,
        decision=committed - polled,
        actuation=applied - committed,
        total=zero - failed,
        agent_latency=int(line["latency_ms"]) / 1000,
    )


def comparison_rows(samples: list[Sample]) -> list[Row]:
    """What Flagger's and Argo Rollouts' defaults give for the same detection settings."""
    section = "closed loop vs Flagger, Argo Rollouts"
    total = [s.total for s in samples]
    # Flagger: a failed check is counted once per analysis interval and the canary is
    # rolled back when the failed checks reach `threshold`: interval x threshold.
    # Defaults (fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go, GetAnalysisInterval and
    # GetAnalysisThreshold; docs.flagger.app "Canary analysis"): interval 60 s, never
    # below 10 s; threshold 1. The docs' tutorials use interval 1m, threshold 5.
    flagger_min_interval, flagger_interval, flagger_threshold = 10, 60, 1
    # Argo Rollouts: a metric fails when its failed measurements exceed failureLimit,
    # one measurement per interval: (failureLimit + 1) x interval. failureLimit's default
    # is 0 (argo-rollouts docs, features/analysis "Failure Conditions and Failure Limit";
    # pkg/apis/rollouts/v1alpha1/analysis_types.go); interval has no default (without
    # one a metric is measured once); the docs' example uses interval 5m, failureLimit 3.
    argo_failure_limit = 0
    ours = f"{POLL_SECONDS} s poll, {SCRAPE_SECONDS} s scrape, {WINDOW} rate window"
    flagger_same = max(POLL_SECONDS, flagger_min_interval) * flagger_threshold
    argo_same = (argo_failure_limit + 1) * POLL_SECONDS
    detection = [s.detection for s in samples]
    return [
        Row(
            section,
            "Wedge, detection measured p50 / p99",
            f"{percentile(detection, 0.5):.1f} s / {percentile(detection, 0.99):.1f} s",
            "what the formulas below give: failing -> the poll that reads the breach",
        ),
        Row(
            section,
            "Wedge, measured p50 / p99",
            f"{percentile(total, 0.5):.1f} s / {percentile(total, 0.99):.1f} s",
            f"canary failing -> HAProxy weight 0 ({ours}); trigger on the first breaching poll",
        ),
        Row(
            section,
            "Flagger, same settings",
            f"{flagger_same} s + actuation",
            f"interval x threshold = max({POLL_SECONDS} s, Flagger's 10 s floor) x "
            f"{flagger_threshold} (default threshold)",
        ),
        Row(
            section,
            "Flagger, defaults",
            f"{flagger_interval * flagger_threshold} s + actuation",
            f"interval x threshold = {flagger_interval} s (default) x {flagger_threshold} "
            "(default); the docs' tutorials (1m x 5): 300 s",
        ),
        Row(
            section,
            "Argo Rollouts, same settings",
            f"{argo_same} s + actuation",
            f"(failureLimit + 1) x interval = ({argo_failure_limit} (default) + 1) x "
            f"{POLL_SECONDS} s; plus the scrape and rate window, as for Wedge",
        ),
        Row(
            section,
            "Argo Rollouts, docs' example",
            "1,200 s + actuation",
            "(failureLimit + 1) x interval = (3 + 1) x 5m; interval has no default",
        ),
    ]


def split_rows(samples: list[Sample]) -> list[Row]:
    section = "closed loop"
    n = len(samples)

    def p(values: list[float]) -> str:
        return f"{percentile(values, 0.5) * 1000:,.0f} / {percentile(values, 0.99) * 1000:,.0f} ms"

    return [
        Row(
            section,
            "canary failing -> traffic off it, p50 / p99",
            p([s.total for s in samples]),
            f"{n} runs one at a time (after {WARMUP_RUNS} warm-up), {RATE} req/s through "
            f"HAProxy, canary at {INITIAL} %, half its answers 500 from the clock's start; "
            "stopped when HAProxy's runtime API answers weight 0, then HAProxy's counters "
            "show no request more to the canary",
        ),
        Row(
            section,
            "  detection (scrape + poll)",
            p([s.detection for s in samples]),
            f"-> the poll that read the breach (RWG-003 occurred_at); of it, until "
            f"Prometheus answers the breach: {p([s.scrape for s in samples])}",
        ),
        Row(
            section,
            "  decision (Wedge)",
            p([s.decision for s in samples]),
            "that poll -> the RWG-003 row committed (read every 5 ms)",
        ),
        Row(
            section,
            "  actuation (webhook -> agent -> HAProxy)",
            p([s.actuation for s in samples]),
            "RWG-003 committed -> the agent's applied line; the agent's own latency_ms "
            f"(from the event): {p([s.agent_latency for s in samples])}",
        ),
    ]


def run() -> list[Row]:
    # Its own database, never the stack benchmark's (it is dropped and re-created).
    os.environ["WEDGE_BENCH_STACK_DATABASE_URL"] = os.environ.get(
        "WEDGE_BENCH_LOOP_DATABASE_URL",
        "postgres://postgres:postgres@127.0.0.1:5432/wedge_bench_loop",
    )
    os.environ["WEDGE_METRICS_POLL_SECONDS"] = str(POLL_SECONDS)
    env = configure_environment()
    recreate_database(env["DATABASE_URL"])
    flush_redis(env["REDIS_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    settings.WEDGE_METRICS_POLL_SECONDS = POLL_SECONDS

    from harness.backends import Backend, Load
    from harness.haproxy import HAProxy
    from harness.processes import free_port
    from harness.prometheus import Prometheus, scrape_job
    from org.demo import seed_demo
    from org.models import User
    from org.tokens import api_token_for
    from providers.models import MetricProvider
    from webhooks.services import subscription_create

    seed_demo()
    directory = Path(tempfile.mkdtemp(prefix="wedge-bench-loop-"))
    stable, canary = Backend.start("stable"), Backend.start("canary")
    haproxy = HAProxy(directory, stable_port=stable.port, canary_port=canary.port)
    stack = Stack()
    load = Load(port=haproxy.port, rate=RATE, cap=RATE * 1800)
    samples: list[Sample] = []
    try:
        haproxy.start()
        jobs = [scrape_job(v.name, v.address) for v in (stable, canary)]
        with Prometheus.running(directory / "prometheus", jobs) as prometheus:
            MetricProvider.objects.create(name="prometheus", base_url=prometheus.url)
            agent_port = free_port()
            dave = User.objects.get(username="dave")
            subscription_create(
                actor=dave,
                url=f"http://127.0.0.1:{agent_port}/hooks/wedge",
                secret=SECRET,
                events=["RWG-001", "RWG-002", "RWG-003", "RWG-004", "WDG-102", "WDG-103"],
            )
            ctx = {
                "haproxy": haproxy,
                "prometheus": prometheus,
                "canary": canary,
                "agent_port": agent_port,
                "token": api_token_for(user=User.objects.get(username="alice")),
            }
            stack.start_mail()
            stack.start_web()
            stack.start_worker()
            stack.start_beat()
            stack.wait_until_ready()
            load.start()
            print(
                f"bench_closed_loop: Prometheus {prometheus.version()} scraping every "
                f"{SCRAPE_SECONDS} s, beat polling every {POLL_SECONDS} s, {RATE} req/s",
                flush=True,
            )
            try:
                for n in range(WARMUP_RUNS + RUNS):
                    sample = one_run(ctx, directory, stack)
                    print(
                        f"bench_closed_loop: run {n + 1}: total {sample.total:.2f} s "
                        f"(detection {sample.detection:.2f}, decision {sample.decision:.3f}, "
                        f"actuation {sample.actuation:.3f})",
                        flush=True,
                    )
                    if n >= WARMUP_RUNS:
                        samples.append(sample)
            finally:
                load.stop()
                stack.stop_all()
    finally:
        load.stop()
        haproxy.stop()
        stable.stop()
        canary.stop()
        os.environ.pop("WEDGE_METRICS_POLL_SECONDS", None)
    check(load.errors == 0 or load.errors < load.sent / 100, f"{load.errors} load errors")
    with open("/proc/loadavg") as loadavg:
        print(f"bench_closed_loop: load average {loadavg.read().split()[0]}", flush=True)
    return split_rows(samples) + comparison_rows(samples)


def main() -> None:
    rows = run()
    # The table bench.run reads back (as bench_audit's and bench_retention's).
    print_table(
        "Closed loop: canary failing -> traffic off the canary (bench/bench_closed_loop.py)",
        [(row.figure, row.value, row.how) for row in rows],
    )


if __name__ == "__main__":
    main()
