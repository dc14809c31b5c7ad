"""The service being rolled out: small WSGI backends that count what they serve, and a
bounded load generator that sends requests through the load balancer.

Each backend answers ``GET /`` with its own name (so a client sees which
version served it), ``500`` for the share of requests ``fail(ratio)`` gives,
and ``GET /metrics`` in Prometheus's format::

    loop_requests_total{version="canary", code="200"}   # one per answer
    loop_requests_total{version="canary", code="500"}
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, make_wsgi_app

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Backend:
    """One version of the service on a free loopback port, in a thread of this process."""

    name: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    failure_ratio: float = 0.0
    _server: Any = None
    _random: random.Random = field(default_factory=lambda: random.Random(12))

    def __post_init__(self) -> None:
        self.requests = Counter(
            "loop_requests",
            "Requests answered, by version and status code.",
            ["version", "code"],
            registry=self.registry,
        )
        # Both series exist from the start: a healthy error rate is 0, not absent.
        for code in ("200", "500"):
            self.requests.labels(version=self.name, code=code).inc(0)
        self._metrics = make_wsgi_app(self.registry)
        self._lock = threading.Lock()

    @classmethod
    def start(cls, name: str) -> Backend:
        backend = cls(name)
        backend._server = make_server(
            "127.0.0.1", 0, backend.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        threading.Thread(target=backend._server.serve_forever, args=(0.05,), daemon=True).start()
        return backend

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def fail(self, ratio: float) -> None:
        """From now on, answer this share of requests with a 500."""
        self.failure_ratio = ratio

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics":
            answer: Iterable[bytes] = self._metrics(environ, start_response)
            return answer
        with self._lock:
            failed = self._random.random() < self.failure_ratio
        code = "500" if failed else "200"
        self.requests.labels(version=self.name, code=code).inc()
        body = self.name.encode()
        status = "500 Internal Server Error" if failed else "200 OK"
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class Load:
    """``rate`` requests a second to ``127.0.0.1:port``, at most ``cap`` in all, on threads.

    Each request is its own connection (``Connection: close``), so the load
    balancer picks a server for every one. Request ``n`` is sent no earlier
    than ``n / rate`` seconds after ``start()``, so the load never goes faster
    than ``rate``; it stops after ``cap`` requests or at ``stop()``.
    ``answers`` counts ``(body, status)``; ``errors`` the requests that got none.
    """

    port: int
    rate: float
    cap: int
    threads: int = 4
    answers: Tally[tuple[str, int]] = field(default_factory=Tally)
    errors: int = 0
    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self._started = time.monotonic()
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def _next_slot(self) -> float | None:
        """When this thread may send its request (None: the cap is reached)."""
        with self._lock:
            if self.sent >= self.cap:
                return None
            slot = self._started + self.sent / self.rate
            self.sent += 1
            return slot

    def _run(self) -> None:
        while not self._stop.is_set():
            slot = self._next_slot()
            if slot is None:
                return
            delay = slot - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/", headers={"Connection": "close"})
                response = conn.getresponse()
                body = response.read().decode(errors="replace")
                conn.close()
            except (OSError, http.client.HTTPException):
                with self._lock:
                    self.errors += 1
                continue
            with self._lock:
                self.answers[(body, response.status)] += 1

    @property
    def done(self) -> bool:
        return not any(worker.is_alive() for worker in self._workers)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=10)
