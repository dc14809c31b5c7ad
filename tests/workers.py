"""A real Celery worker as a subprocess, for the integration and fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


@dataclass
class Worker:
    """A Celery worker subprocess on a given broker, against the test database.

    ``queues`` as in the Procfile (``"engine,celery"`` or ``"webhooks"``);
    ``None`` consumes every queue of ``CELERY_TASK_QUEUES``, engine work and
    deliveries alike.
    """

    redis_url: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    name: str = "test-worker"
    queues: str | None = None
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    hostname: str = ""

    def start(self) -> None:
        from django.conf import settings
        from django.db import DEFAULT_DB_ALIAS, connections

        # The application role, as workers connect in production (never the owner).
        db = connections[DEFAULT_DB_ALIAS].settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            ),
            "REDIS_URL": self.redis_url,
            **self.extra_env,
        }
        self.hostname = f"{self.name}-{os.getpid()}-{time.monotonic_ns()}@%h"
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                self.hostname,
                "--queues",
                self.queues or ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool too
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until it answers a remote-control ping through the broker."""
        from config.celery import app

        node = self.hostname.split("@", 1)[0] + "@"

        def answered() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.output()
            replies = app.control.ping(timeout=0.5) or []
            return any(name.startswith(node) for reply in replies for name in reply)

        assert wait_until(answered, timeout, interval=0.1), self.output()

    def kill(self) -> None:
        """SIGKILL the worker and every process it forked: no shutdown, no acks."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]
