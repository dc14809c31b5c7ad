"""How fast the gates answer a deployer, on the real stack (called from ``bench.bench_stack``).

Flagger gives a webhook 10 s by default and Argo's web metric 10 s: a gate
must answer well inside that, whatever else the server does. Measured through
gunicorn on PostgreSQL, with the 1,000 active wedges of the stack benchmark:

* each Flagger gate's latency, sequentially on one keep-alive connection, with
  three clusters' canaries bound to the proposal (so the hold check reads them);
* Argo's web metric the same way;
* gate calls per second with 8 clients, every call answered (200 or 403).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.measure import Http, Row, check, ms, percentile

CALLS = 300  # per gate, sequential
WARMUP = 10
CLUSTERS = ("eu-west-1", "us-east-1", "ap-south-1")
CLIENTS = 8
SECONDS = 5.0
FLAGGER_TIMEOUT = 10.0  # seconds: Flagger's default webhook timeout


def _flagger(proposal_id: int, key: str, cluster: str) -> dict[str, Any]:
    return {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "85d557f47b",
        "metadata": {"token": key, "cluster": cluster, "proposal": str(proposal_id)},
    }


def _timed(client: Http, method: str, path: str, body: Any, expected: set[int]) -> float:
    began = time.perf_counter()
    status, _ = client.request(method, path, body)
    elapsed = time.perf_counter() - began
    check(status in expected, (path, status))
    return elapsed


def bench_gates(port: int, key: str, proposal_id: int) -> list[Row]:
    """Latency and throughput of the gates for one running proposal; the rows to print."""
    client = Http(port)
    for cluster in CLUSTERS:  # bind the three clusters' canaries
        path = "/api/v1/gates/flagger/confirm-rollout/"
        _timed(client, "POST", path, _flagger(proposal_id, key, cluster), {200})
    rows: list[Row] = []
    section = "gates"
    gates = (
        ("confirm-traffic-increase", {200, 403}),
        ("confirm-promotion", {403}),
        ("rollback", {403}),
        ("rollout", {200}),
    )
    worst = 0.0
    for gate, expected in gates:
        path = f"/api/v1/gates/flagger/{gate}/"
        body = _flagger(proposal_id, key, CLUSTERS[0])
        for _ in range(WARMUP):
            _timed(client, "POST", path, body, expected)
        samples = [_timed(client, "POST", path, body, expected) for _ in range(CALLS)]
        worst = max(worst, max(samples))
        rows.append(
            Row(
                section,
                f"Flagger {gate}, p50 / p99",
                f"{ms(percentile(samples, 0.5))} / {ms(percentile(samples, 0.99))}",
                f"{CALLS} sequential POSTs on one keep-alive connection after {WARMUP} warm-ups, "
                f"token in metadata.token, {len(CLUSTERS)} clusters bound; max "
                f"{ms(max(samples))}",
            )
        )
    argo = Http(port, {"Authorization": f"Token {key}"})
    path = f"/api/v1/gates/argo/{proposal_id}/?cluster={CLUSTERS[1]}&namespace=test&rollout=podinfo"
    for _ in range(WARMUP):
        _timed(argo, "GET", path, None, {200})
    samples = [_timed(argo, "GET", path, None, {200}) for _ in range(CALLS)]
    worst = max(worst, max(samples))
    rows.append(
        Row(
            section,
            "Argo web metric, p50 / p99",
            f"{ms(percentile(samples, 0.5))} / {ms(percentile(samples, 0.99))}",
            f"{CALLS} sequential GETs with Authorization: Token, the Rollout named; max "
            f"{ms(max(samples))}",
        )
    )
    client.close()
    argo.close()
    rate, answered, other, latencies = _throughput(port, key, proposal_id)
    worst = max(worst, max(latencies))
    rows += [
        Row(
            section,
            "Flagger gate calls answered",
            f"{rate:,.0f} /s",
            f"{CLIENTS} clients, each a cluster of its own calling confirm-traffic-increase on "
            f"keep-alive connections for {SECONDS:.0f} s; {answered:,} answered 200/403, "
            f"{other} other; p50 {ms(percentile(latencies, 0.5))}, p99 "
            f"{ms(percentile(latencies, 0.99))}",
        ),
        Row(
            section,
            "slowest answer / Flagger's 10 s timeout",
            f"{100 * worst / FLAGGER_TIMEOUT:.2f} %",
            f"the slowest of every gate call above ({ms(worst)})",
        ),
    ]
    return rows


def _throughput(port: int, key: str, proposal_id: int) -> tuple[float, int, int, list[float]]:
    answered = [0] * CLIENTS
    other = [0] * CLIENTS
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)
    stop_at: list[float] = []

    def run(index: int) -> None:
        client = Http(port)
        body = _flagger(proposal_id, key, f"bench-{index}")
        client.request("POST", "/api/v1/gates/flagger/confirm-rollout/", body)  # bind, connect
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            status, _ = client.request(
                "POST", "/api/v1/gates/flagger/confirm-traffic-increase/", body
            )
            latencies[index].append(time.perf_counter() - began)
            if status in (200, 403):
                answered[index] += 1
            else:
                other[index] += 1
        client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop_at.append(started + SECONDS)
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return (
        sum(answered) / elapsed,
        sum(answered),
        sum(other),
        [x for per in latencies for x in per],
    )
