"""The closed loop on real traffic: a bad canary is caught and traffic goes back to stable.

Real parts, on loopback: two WSGI backends (stable and canary) counting their
answers for Prometheus, HAProxy in front of them, a bounded load generator
through HAProxy, a real Prometheus scraping the backends every second, Wedge
(the live server and the suite's Celery worker, which polls Prometheus), and
the reference agent as its own process, following the proposal through a
signed webhook subscription with the poll as its fallback. Nobody pushes a
metric or rolls anything back by hand: the canary starts failing and the test
watches.

``make e2e`` runs this module alone; ``make test`` runs it with the suite.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditEvent
from config.celery import app
from harness.backends import Backend, Load
from harness.haproxy import HAProxy
from harness.processes import free_port
from harness.prometheus import Prometheus, scrape_job
from org.tokens import api_token_for
from providers.models import MetricProvider
from tests.documents import PROPOSAL
from tests.workers import wait_until
from webhooks.services import subscription_create
from wedges.models import ChangeProposal, MetricSnapshot, RolloutWedge
from wedges.services import proposal_submit, wedge_start
from wedges.submission import check_submission

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the-closed-loop-webhook-secret"
# The canary's share of 5xx over the last 4 s (four scrapes at 1 s).
ERROR_RATE = (
    'sum(rate(loop_requests_total{job="canary", code="500"}[4s]))'
    ' / sum(rate(loop_requests_total{job="canary"}[4s]))'
)
RATE = 60  # requests a second through HAProxy
CAP = RATE * 50  # never more than 50 s of load, whatever happens
INITIAL = 10  # % on the canary: 25 of HAProxy's 256


@dataclass
class Loop:
    stable: Backend
    canary: Backend
    haproxy: HAProxy
    prometheus: Prometheus
    load: Load


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    """Backends, HAProxy, Prometheus and the load; every one stopped at the end, also on failure."""
    with ExitStack() as stack:
        stable = Backend.start("stable")
        stack.callback(stable.stop)
        canary = Backend.start("canary")
        stack.callback(canary.stop)
        haproxy = HAProxy(tmp_path / "haproxy", stable_port=stable.port, canary_port=canary.port)
        haproxy.directory.mkdir()
        stack.callback(haproxy.stop)
        haproxy.start()
        prometheus = stack.enter_context(
            Prometheus.running(
                tmp_path / "prometheus",
                [scrape_job("stable", stable.address), scrape_job("canary", canary.address)],
            )
        )
        load = Load(port=haproxy.port, rate=RATE, cap=CAP)
        stack.callback(load.stop)
        yield Loop(stable, canary, haproxy, prometheus, load)


def polling_beat(stop: threading.Event) -> None:
    """What beat sends every ``WEDGE_METRICS_POLL_SECONDS`` (1 s for the suite's worker)."""
    while not stop.wait(1.0):
        app.send_task("providers.tasks.poll", expires=1.0)


def settle() -> None:
    """No poll left queued or running: the test's tables are about to be emptied."""
    app.control.purge()
    wait_until(lambda: not any((app.control.inspect(timeout=0.5).active() or {}).values()), 20)


def submit_and_start(demo: dict[str, Any]) -> ChangeProposal:
    """A wedge whose canary stage is judged by the canary's error rate in Prometheus."""
    body = copy.deepcopy(PROPOSAL)
    wedge = body["rollout_wedge"]
    wedge["initial_percentage"] = INITIAL
    for stage in wedge["wedge_stages"]:
        stage["success_criteria"] = ["error_rate < 0.01"]
        stage["rollback_trigger"] = "error_rate > 0.05"
    wedge["metric_queries"] = {"error_rate": {"provider": "prometheus", "query": ERROR_RATE}}
    check = check_submission(body)
    assert check.valid, check.to_dict()
    proposal = proposal_submit(check=check, author=demo["alice"]).proposal
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], reason="closed loop")
    return proposal


def start_agent(tmp_path: Path, *, wedge_url: str, token: str, port: int, proposal: int, haproxy):
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[wedge]\nurl = "{wedge_url}"\ntoken = "{token}"\n'
        # The fallback poll: slower than a webhook, so the log says which one moved HAProxy.
        "poll_seconds = 20\n"
        f'[webhook]\nlisten = "127.0.0.1:{port}"\nsecret = "{SECRET}"\n'
        f'[haproxy]\nsocket = "{haproxy.socket}"\nretry_seconds = 0.2\n'
        f'[[follow]]\nproposal = {proposal}\nbackend = "app"\nstable = "stable"\n'
        'canary = "canary"\n'
    )
    log = tmp_path / "agent.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "--config", str(config)], cwd=ROOT, stderr=out
        )
    return process, log


def stop_agent(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.django_db(transaction=True)
def test_a_failing_canary_is_rolled_back_and_its_traffic_goes_to_stable(
    live_server, demo, celery_worker_process, loop, tmp_path
):
    MetricProvider.objects.create(name="prometheus", base_url=loop.prometheus.url)
    port = free_port()
    subscription_create(
        actor=demo["dave"],
        url=f"http://127.0.0.1:{port}/hooks/wedge",
        secret=SECRET,
        events=["RWG-001", "RWG-002", "RWG-003", "RWG-004", "WDG-102", "WDG-103"],
    )
    proposal = submit_and_start(demo)
    agent, agent_log = start_agent(
        tmp_path,
        wedge_url=live_server.url,
        token=api_token_for(user=demo["alice"]),
        port=port,
        proposal=proposal.pk,
        haproxy=loop.haproxy,
    )
    stop_beat = threading.Event()
    beat = threading.Thread(target=polling_beat, args=(stop_beat,), daemon=True)
    try:
        # The agent reconciles on start: 10 % is 25 of 256 on the canary.
        assert wait_until(lambda: loop.haproxy.weights() == (25, 231), 20), agent_log.read_text()
        loop.load.start()
        beat.start()
        # Healthy first: the canary serves, Prometheus has its rate, Wedge has polled it.
        loop.prometheus.wait_for(ERROR_RATE, lambda value: value == 0, timeout=15)
        assert wait_until(
            lambda: MetricSnapshot.objects.filter(
                wedge__proposal=proposal, values__error_rate=0
            ).exists(),
            10,
        )
        assert RolloutWedge.objects.get(proposal=proposal).wedge_state == "ACTIVE"
        canary_before, _ = loop.haproxy.sent()
        assert canary_before > 0, "the canary took no traffic before it failed"

        loop.canary.fail(0.5)
        assert wait_until(
            lambda: RolloutWedge.objects.get(proposal=proposal).wedge_state == "ROLLED_BACK",
            20,
            interval=0.1,
        )
        assert wait_until(lambda: loop.haproxy.weights() == (0, 256), 10), agent_log.read_text()

        # From HAProxy's own counters: after the weight went to 0, not one request more
        # reached the canary while stable kept serving the load.
        canary_at_zero, stable_at_zero = loop.haproxy.sent()
        assert wait_until(lambda: loop.haproxy.sent()[1] >= stable_at_zero + RATE, 10)
        canary_after, stable_after = loop.haproxy.sent()
        assert canary_after == canary_at_zero
        assert stable_after - stable_at_zero >= RATE
        assert loop.haproxy.served(10) == ["stable"] * 10
    finally:
        stop_beat.set()
        loop.load.stop()
        try:
            code = stop_agent(agent)
        finally:
            settle()
    assert code == 0, agent_log.read_text()

    # Before the failure the canary had its share of the traffic (about 10 %).
    share = canary_at_zero / (canary_at_zero + stable_at_zero)
    assert 0.03 < share < 0.2, share
    # The policy rolled it back, on the evidence Prometheus gave.
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.actor is None
    reading = event.metrics["error_rate"]
    assert reading["value"] > 0.05
    assert (reading["provider"], reading["query"]) == ("prometheus", ERROR_RATE)
    assert event.data["trigger"]["met"] is True
    # The agent moved HAProxy on the signed webhook, and said how long it took.
    text = agent_log.read_text()
    [applied] = [
        line for line in text.splitlines() if "event=applied" in line and "code=RWG-003" in line
    ]
    assert "wedge_state=ROLLED_BACK" in applied
    assert "canary_weight=25->0 stable_weight=231->256" in applied
    assert "latency_ms=" in applied
    assert "event=webhook_rejected" not in text
    # Every answer the load got came from a real backend, and the canary's errors were real.
    assert ("canary", 500) in loop.load.answers
    assert loop.load.sent <= CAP
