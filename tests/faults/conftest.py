"""Processes the fault tests start, break and restart themselves.

Each test gets a private ``redis-server`` on a free loopback port (never the
machine's shared Redis, which other sessions use) and points this process's
Celery app at it; Celery workers run as subprocesses in their own process
group, so a test can SIGKILL one with everything it forked.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.workers import Worker, wait_until

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PrivateRedis:
    """A throw-away Redis without persistence: a restart loses every queued message."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self.ping, timeout=10), f"redis-server did not answer on {self.port}"

    def stop(self) -> None:
        """Shut it down the hard way: queued messages are gone, as after a crash."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if not Path(REDIS_SERVER).is_file():
        pytest.skip(f"{REDIS_SERVER} is not installed")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reset_celery_connections(app: Any) -> None:
    """Forget pooled broker connections, so the next publish connects to the new URL.

    kombu keeps its pools in a process-wide registry; ``pools.reset()`` closes
    them and empties it, so no closed pool is handed out again afterwards.
    """
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    # The result backend is cached per thread; drop this thread's, so it is
    # rebuilt from the current result_backend setting.
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def broker(private_redis: PrivateRedis, settings: Any) -> Iterator[PrivateRedis]:
    """This process's Celery app publishes to the private Redis for the test."""
    from config.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "result_backend")}
    _reset_celery_connections(app)
    app.conf.update(broker_url=private_redis.url, result_backend=private_redis.url)
    settings.CELERY_BROKER_URL = private_redis.url  # what /healthz checks
    try:
        yield private_redis
    finally:
        _reset_celery_connections(app)
        app.conf.update(saved)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Any]:
    """``workers(redis_url)`` starts a worker; every one started is stopped at the end.

    By default it consumes every queue; ``queues="webhooks"`` starts one pool
    of the production layout (see Procfile).
    """
    started: list[Worker] = []

    def start(redis_url: str, queues: str | None = None, **extra_env: str) -> Worker:
        name = f"fault-{(queues or 'all').split(',')[0]}"
        log = tmp_path / f"worker-{len(started)}.log"
        worker = Worker(redis_url, log, extra_env, name, queues=queues)
        worker.start()
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
