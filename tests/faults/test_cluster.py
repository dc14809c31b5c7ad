"""Wedge as a cluster: two gunicorn instances, two Celery workers and two beats on one
PostgreSQL and one Redis, with snapshots, ticks and operator actions spread over both.

What must hold: every transition happens once, with exactly one audit event and
one outbox row, however many processes raced for it; every outbox event reaches
the subscriber exactly once (one delivery id, posted once); the audit chain
verifies. Both beats run the whole schedule at a one-second tick: nothing in
Wedge relies on beat running once (see README, "Production topology").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from org.tokens import api_token_for
from tests.webhooks.receiver import webhook_receiver
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent
from webhooks.services import subscription_create
from wedges.models import MetricSnapshot, RolloutWedge

from .conftest import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cluster-test-webhook-secret"
EVENTS = ["RWG-001", "RWG-002", "RWG-003", "RWG-004", "WDG-103"]
HEALTHY = {"error_rate": 0.001, "p99": "120ms"}
BREACH = {"error_rate": 0.2, "p99": "120ms"}
GROUP = 4  # wedges in each group below


class Processes:
    """Every process the test starts, stopped by the PID it recorded (own process groups)."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], **extra: str) -> None:
        log = (self.tmp_path / f"{name}.log").open("wb")
        self.started[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def alive(self) -> None:
        for name, process in self.started.items():
            assert process.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def stop_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _backdate(proposal_ids: list[int], *, opened_ago: timedelta) -> None:
    """Their stage opened ``opened_ago``; due at its window's end (as the migration stores)."""
    now = timezone.now()
    opened = now - opened_ago
    RolloutWedge.objects.filter(proposal_id__in=proposal_ids).update(
        stage_opened_at=opened,
        window_ends_at=opened + timedelta(hours=1),
        pause_at=opened + timedelta(hours=3),
        due_at=opened + timedelta(hours=1),
        due_snapshot_id=0,
    )


@pytest.mark.django_db(transaction=True)
def test_two_of_everything_make_each_transition_once(demo, submit, broker, workers, tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": broker.url,
        "WEDGE_TICK_SECONDS": "1",
        "WEDGE_OUTBOX_REDRIVE_SECONDS": "2",
    }
    processes = Processes(tmp_path, env)
    ports = [free_port(), free_port()]
    groups: dict[str, list[int]] = {
        name: [submit("alice").pk for _ in range(GROUP)]
        for name in ("advance", "pause", "breach", "operator", "healthy")
    }
    with webhook_receiver(SECRET) as receiver:
        posts: Counter[str] = Counter()
        receiver.on_request = lambda delivery: posts.update([delivery])  # every POST
        subscription_create(actor=demo["dave"], url=receiver.url, secret=SECRET, events=EVENTS)
        try:
            for n, port in enumerate(ports):
                processes.spawn(
                    f"web-{n}",
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "config.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--threads",
                        "4",
                        "--log-level",
                        "warning",
                    ],
                )
            started_workers = [workers(broker.url), workers(broker.url)]
            for n in range(2):
                processes.spawn(
                    f"beat-{n}",
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "beat",
                        "--loglevel",
                        "INFO",
                        "--schedule",
                        str(tmp_path / f"beat-{n}-schedule"),
                    ],
                )
            for worker in started_workers:
                worker.wait_ready()

            def answering(port: int) -> bool:
                processes.alive()
                try:
                    return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
                except requests.RequestException:
                    return False

            for port in ports:
                assert wait_until(lambda p=port: answering(p), timeout=60, interval=0.2)
            _drive(groups, ports, demo)
            _wait_until_delivered(processes)
        finally:
            processes.stop_all()
        _check(groups, receiver, posts, processes)


def _drive(groups: dict[str, list[int]], ports: list[int], demo: dict[str, Any]) -> None:
    operator = {"Authorization": f"Token {api_token_for(user=demo['dave'])}"}
    agent = {"Authorization": f"Token {api_token_for(user=demo['alice'])}"}
    instances = cycle(ports)
    answered: Counter[int] = Counter()
    lock = threading.Lock()

    def call(headers: dict[str, str], path: str, body: dict[str, Any], port: int) -> int:
        url = f"http://127.0.0.1:{port}/api/v1/proposals/{path}"
        status = requests.post(url, json=body, headers=headers, timeout=30).status_code
        with lock:
            answered[status] += 1
        return status

    def both_at_once(headers: dict[str, str], path: str, body: dict[str, Any]) -> list[int]:
        """The same call on both instances at the same moment."""
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def one(port: int) -> None:
            barrier.wait()
            statuses.append(call(headers, path, body, port))

        threads = [threading.Thread(target=one, args=(port,)) for port in ports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    every = [pk for ids in groups.values() for pk in ids]
    for pk in every:  # starts spread over both instances
        assert call(operator, f"{pk}/start/", {"reason": "cluster"}, next(instances)) == 200
    # Due by time alone: the two beats' ticks race for them.
    for pk in groups["advance"]:
        wedge = RolloutWedge.objects.get(proposal_id=pk)
        snapshot = MetricSnapshot.objects.create(
            wedge=wedge,
            received_at=timezone.now(),
            values=HEALTHY,
            stage_index=wedge.current_stage_index,
            reported_by=demo["alice"],
        )
        RolloutWedge.objects.filter(pk=wedge.pk).update(latest_snapshot=snapshot)
    _backdate(groups["advance"], opened_ago=timedelta(hours=2))
    _backdate(groups["pause"], opened_ago=timedelta(hours=3, minutes=1))

    stop = threading.Event()

    def healthy_load() -> None:  # background snapshots on both instances
        ports_ = cycle(ports)
        while not stop.is_set():
            for pk in groups["healthy"]:
                call(agent, f"{pk}/metrics/", {"metrics": HEALTHY}, next(ports_))

    load = threading.Thread(target=healthy_load)
    load.start()
    try:
        for pk in groups["breach"]:  # the same breach reported through both at once
            statuses = both_at_once(agent, f"{pk}/metrics/", {"metrics": BREACH})
            assert sorted(statuses) == [200, 409], statuses
        for pk in groups["operator"]:  # two operators, one on each instance, each step
            for action in ("pause", "resume", "rollback"):
                statuses = both_at_once(operator, f"{pk}/{action}/", {"reason": action})
                assert sorted(statuses) == [200, 409], (action, statuses)
        for pk in groups["advance"] + groups["pause"]:
            assert wait_until(
                lambda pk=pk: AuditEvent.objects.filter(
                    proposal_id=pk, code__in=["RWG-001", "RWG-002"]
                ).exists(),
                timeout=60,
                interval=0.2,
            ), f"the beats never moved proposal {pk}"
    finally:
        stop.set()
        load.join()
    assert set(answered) <= {200, 409}, answered
    assert answered[200] > len(every) * 2


def _wait_until_delivered(processes: Processes) -> None:
    def settled() -> bool:
        processes.alive()
        waiting = Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
        unfanned = OutboxEvent.objects.filter(fanned_out_at__isnull=True).exists()
        return not waiting and not unfanned

    assert wait_until(settled, timeout=90, interval=0.5), list(
        Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).values("event_code", "status")
    )


def _check(
    groups: dict[str, list[int]], receiver: Any, posts: Counter[str], processes: Processes
) -> None:
    expected: dict[tuple[int, str], int] = {}
    for pk in groups["advance"]:
        expected[(pk, "RWG-001")] = 1
    for pk in groups["pause"]:
        expected[(pk, "RWG-002")] = 1
    for pk in groups["breach"]:
        expected[(pk, "RWG-003")] = 1
    for pk in groups["operator"]:
        expected |= {(pk, "RWG-002"): 1, (pk, "WDG-103"): 1, (pk, "RWG-003"): 1}
    watched = [pk for ids in groups.values() for pk in ids]
    events = Counter(
        AuditEvent.objects.filter(proposal_id__in=watched, code__in=EVENTS).values_list(
            "proposal_id", "code"
        )
    )
    assert dict(events) == expected  # the healthy ones never moved
    outbox = Counter(
        OutboxEvent.objects.filter(event_code__in=EVENTS).values_list("proposal_id", "event_code")
    )
    assert dict(outbox) == expected
    # Every outbox event reached the receiver exactly once: one delivery id
    # each, posted once, correctly signed.
    assert receiver.bad_signatures == 0
    arrived = Counter((int(r["proposal_id"]), str(r["event"])) for r in receiver.received)
    assert dict(arrived) == expected
    assert set(posts.values()) == {1}, [d for d, n in posts.items() if n > 1]
    assert len(posts) == sum(expected.values())
    # Both beats ran the schedule; the chain is whole.
    for n in range(2):
        assert "wedges.tasks.tick" in processes.log(f"beat-{n}")
    call_command("verify_audit")
