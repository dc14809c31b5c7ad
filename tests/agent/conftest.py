"""A real HAProxy, a stand-in Wedge over HTTP, and signed deliveries for the agent's tests."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.config import Follow, HAProxyConfig, WedgeConfig
from agent.haproxy import RuntimeAPI
from agent.logs import EventLog
from agent.reconciler import Reconciler
from agent.webhook import Event, signature
from agent.wedge import DesiredState, WedgeClient
from tests.workers import wait_until

HAPROXY = Path("/usr/sbin/haproxy")
SECRET = "a-shared-webhook-secret"
PROPOSAL = 42


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def backend_server(name: str) -> ThreadingHTTPServer:
    """A tiny HTTP server answering its own name: which version served a request."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


HAPROXY_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
    maxconn 200

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend site
    bind 127.0.0.1:{port}
    default_backend app

backend app
    balance roundrobin
    server stable 127.0.0.1:{stable_port} weight 256
    server canary 127.0.0.1:{canary_port} weight 0
"""


@dataclass
class HAProxy:
    """A real HAProxy with a runtime API on a unix socket and a frontend on loopback."""

    directory: Path
    port: int
    stable_port: int
    canary_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "admin.sock"

    @property
    def config(self) -> HAProxyConfig:
        return HAProxyConfig(socket=str(self.socket), timeout_seconds=1.0, retry_seconds=0.05)

    def start(self) -> None:
        config = self.directory / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.socket,
                port=self.port,
                stable_port=self.stable_port,
                canary_port=self.canary_port,
            )
        )
        self.socket.unlink(missing_ok=True)
        log = (self.directory / "haproxy.log").open("ab")
        # -db: stay in the foreground, so the PID is HAProxy's own.
        self.process = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        process = self.process
        ready = wait_until(lambda: self._answers() or process.poll() is not None, 10)
        assert ready, "HAProxy did not answer within 10 s"
        assert process.poll() is None, (self.directory / "haproxy.log").read_text()

    def _answers(self) -> bool:
        try:
            return "# be_id" in RuntimeAPI(self.config).command("show servers state")
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def weights(self) -> tuple[int, int]:
        """(canary, stable) as HAProxy has them."""
        servers = RuntimeAPI(self.config).servers("app")
        return servers["canary"].weight, servers["stable"].weight

    def set_weight(self, server: str, weight: int) -> None:
        RuntimeAPI(self.config).set_weight("app", server, weight)

    def served(self, requests_count: int) -> list[str]:
        """Which backend answered each of ``requests_count`` requests through the frontend."""
        answers = []
        for _ in range(requests_count):
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\nHost: site\r\n\r\n")
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
            answers.append(data.split(b"\r\n\r\n", 1)[1].decode())
        return answers


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[HAProxy]:
    assert HAPROXY.exists(), "HAProxy is missing: scripts/ensure-services.sh installs it"
    stable, canary = backend_server("stable"), backend_server("canary")
    proxy = HAProxy(
        directory=tmp_path,
        port=free_port(),
        stable_port=stable.server_address[1],
        canary_port=canary.server_address[1],
    )
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        for server in (stable, canary):
            server.shutdown()
            server.server_close()


@dataclass
class FakeWedge:
    """Wedge's two agent-facing endpoints over real HTTP, with a switch to take it down."""

    states: dict[int, dict[str, Any]] = field(default_factory=dict)
    reports: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reads: list[tuple[int, str | None]] = field(default_factory=list)
    # What a report does to the wedge, e.g. a blast-radius rollback.
    after_report: dict[str, Any] | None = None
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, proposal: int = PROPOSAL, **state: Any) -> None:
        self.states[proposal] = {**desired(), **state}

    def etag(self, proposal: int) -> str:
        return '"' + str(abs(hash(json.dumps(self.states[proposal], sort_keys=True)))) + '"'

    def up(self) -> None:
        wedge = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proposal = int(self.path.split("/")[4])
                wedge.reads.append((proposal, self.headers.get("If-None-Match")))
                if proposal not in wedge.states:
                    self._json(404, {"errors": [{"field": None, "code": "not_found"}]})
                elif self.headers.get("If-None-Match") == wedge.etag(proposal):
                    self._json(304, None, {"ETag": wedge.etag(proposal)})
                else:
                    self._json(200, wedge.states[proposal], {"ETag": wedge.etag(proposal)})

            def do_POST(self) -> None:
                proposal = int(self.path.split("/")[4])
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                wedge.reports.append((proposal, body))
                state = wedge.states[proposal]
                if state["wedge_state"] not in ("ACTIVE", "PAUSED"):
                    self._json(409, {"errors": [{"field": None, "code": "not_running"}]})
                    return
                if wedge.after_report is not None:
                    state.update(wedge.after_report)
                self._json(200, {**state, "acted": False, "decision": None})

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        """Stop answering: connections to its port are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def reported(self, proposal: int = PROPOSAL) -> list[float]:
        return [body["metrics"]["exposure_percentage"] for p, body in self.reports if p == proposal]


@pytest.fixture
def wedge() -> Iterator[FakeWedge]:
    fake = FakeWedge()
    fake.set()
    fake.up()
    try:
        yield fake
    finally:
        fake.down()


def desired(**changes: Any) -> dict[str, Any]:
    return {
        "wedge_state": "ACTIVE",
        "stage_id": "canary",
        "exposure_percentage": 10.0,
        "max_blast_radius": 90.0,
        **changes,
    }


FOLLOW = Follow(proposal=PROPOSAL, backend="app", stable="stable", canary="canary")


@pytest.fixture
def reconciler(wedge: FakeWedge, haproxy: HAProxy) -> Reconciler:
    return Reconciler(
        (FOLLOW,),
        WedgeClient(WedgeConfig(url=wedge.url, token="agent-token", timeout_seconds=1.0)),
        RuntimeAPI(haproxy.config),
        EventLog(),
    )


def signed(
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    delivery: str = "d-1",
    event: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a delivery as Wedge signs one."""
    data = body if isinstance(body, bytes) else json.dumps(body, sort_keys=True).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    code = event or (json.loads(data).get("event", "RWG-001") if data else "RWG-001")
    return {
        "X-Wedge-Event": code,
        "X-Wedge-Delivery": delivery,
        "X-Wedge-Timestamp": stamp,
        "X-Wedge-Signature": signature(secret, stamp, data),
    }, data


def payload(
    *, occurred_at: datetime | None = None, code: str = "RWG-001", **state: Any
) -> dict[str, Any]:
    """A webhook body with the fields Wedge sends."""
    return {
        "event": code,
        "proposal_id": PROPOSAL,
        "reason": "",
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        **desired(**state),
    }


def event(
    *,
    occurred_at: datetime | None = None,
    delivery: str = "d-1",
    code: str = "RWG-001",
    **state: Any,
) -> Event:
    """A verified event, as the listener hands it to the reconciler."""
    body = payload(occurred_at=occurred_at, code=code, **state)
    return Event(
        delivery=delivery,
        code=code,
        proposal=PROPOSAL,
        state=DesiredState.from_json(body),
        occurred_at=datetime.fromisoformat(body["occurred_at"]),
    )
