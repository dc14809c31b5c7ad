"""The real stack for the benchmarks: gunicorn, a Celery worker and beat on this machine.

Everything runs against its own PostgreSQL database (``wedge_bench_stack``,
dropped and re-created on every run) and its own Redis database number
(7, or ``WEDGE_BENCH_REDIS_DB``; ``WEDGE_BENCH_REDIS_URL`` names another
server), so a benchmark never touches development or test data. Every process is
started here and stopped here, by the PID this module recorded.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/wedge_bench_stack"
DEFAULT_REDIS_DB = 7
VAR_DIR = ROOT / "var" / "bench"
# The variables configure_environment() sets (other benchmarks must not inherit them).
BENCH_ENVIRONMENT = (
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "DATABASE_URL",
    "REDIS_URL",
    "WEDGE_VAR_DIR",
    "WEDGE_WEBHOOK_ALLOW_PRIVATE",
    "WEDGE_WEBHOOK_ALLOW_HTTP",
    "LOG_LEVEL",
    "EMAIL_HOST",
    "EMAIL_PORT",
)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def configure_environment() -> dict[str, str]:
    """Production settings (``DEBUG=0``) on loopback, pointed at the bench database.

    Set in ``os.environ`` before Django is imported, so this process (which
    seeds data and measures in-process figures) and every child process read
    the same settings.
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    values = {
        # The application's settings plus the floor's URL (bench.floor).
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("WEDGE_BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": os.environ.get("WEDGE_BENCH_STACK_DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("WEDGE_BENCH_REDIS_URL")
        or f"redis://127.0.0.1:6379/{os.environ.get('WEDGE_BENCH_REDIS_DB', DEFAULT_REDIS_DB)}",
        "WEDGE_VAR_DIR": str(VAR_DIR),
        "WEDGE_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on loopback, plain http
        "WEDGE_WEBHOOK_ALLOW_HTTP": "1",
        "LOG_LEVEL": "WARNING",
        # bench.mailbox, once a benchmark starts it (Stack.start_mail).
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(free_port()),
    }
    assert set(values) == set(BENCH_ENVIRONMENT)
    os.environ.update(values)
    return values


def recreate_database(url: str) -> None:
    """Drop and create the bench database (never another one: the name is checked)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: bench databases have 'bench' in the name")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@dataclass
class Stack:
    """The processes of one benchmark run, by name, with their log files."""

    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    web_workers: int = 4
    web_threads: int = 2
    worker_concurrency: int = 2

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (VAR_DIR / f"{name}.log").open("wb")
        self.logs[name] = log
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C in the terminal reaches this script,
            # which then stops the children in order.
            start_new_session=True,
        )

    def start_mail(self) -> None:
        """The loopback mail server the stack's emails go to (``bench.mailbox``)."""
        self._spawn("mail", [sys.executable, "-m", "bench.mailbox", os.environ["EMAIL_PORT"]])

    def mail_accepted(self) -> int:
        """Messages the mail server has accepted so far."""
        log = (VAR_DIR / "mail.log").read_text(errors="replace")
        return sum(line.startswith("accepted ") for line in log.splitlines())

    def start_web(self) -> None:
        self._spawn(
            "gunicorn",
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--threads",
                str(self.web_threads),
                "--worker-class",
                "gthread",
                "--keep-alive",
                "30",
                "--log-level",
                "warning",
            ],
        )

    def start_worker(self) -> None:
        self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(self.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-{os.getpid()}@%h",
                "--include",
                "bench.floor",  # the floor's signed POST
            ],
        )

    def start_beat(self) -> None:
        schedule = VAR_DIR / "celerybeat-schedule"
        for stale in VAR_DIR.glob("celerybeat-schedule*"):
            stale.unlink()
        self._spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(schedule),
            ],
        )

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Web answers /healthz and the worker answers a ping through Redis."""
        import http.client

        from config.celery import app

        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f} s")
            time.sleep(0.2)
        remaining = max(deadline - time.monotonic(), 5.0)
        app.send_task("wedge.ping", args=[1]).get(timeout=remaining)

    def wait_for_worker(self, timeout: float = 60.0) -> None:
        """The worker answers a ping through Redis (for runs without the web server)."""
        from config.celery import app

        self.check_alive()
        app.send_task("wedge.ping", args=[1]).get(timeout=timeout)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (VAR_DIR / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self, name: str, timeout: float = 20.0) -> None:
        """SIGTERM the process we started (and its children, in its own group), then SIGKILL."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.logs.pop(name).close()

    def stop_all(self) -> None:
        # Beat first (no new work), then the web, then the worker, then their mail server.
        for name in ("beat", "gunicorn", "worker", "mail"):
            self.stop(name)
