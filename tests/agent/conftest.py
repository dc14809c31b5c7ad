"""A real HAProxy, a stand-in Wedge over HTTP, and signed deliveries for the agent's tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.config import Follow, WedgeConfig
from agent.haproxy import RuntimeAPI
from agent.logs import EventLog
from agent.reconciler import Reconciler
from agent.webhook import Event, signature
from agent.wedge import DesiredState, WedgeClient
from harness.backends import Backend
from harness.haproxy import HAProxy
from harness.processes import free_port

__all__ = ["HAProxy", "free_port"]  # for the agent's tests

SECRET = "a-shared-webhook-secret"
PROPOSAL = 42


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[HAProxy]:
    stable, canary = Backend.start("stable"), Backend.start("canary")
    proxy = HAProxy(directory=tmp_path, stable_port=stable.port, canary_port=canary.port)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        stable.stop()
        canary.stop()


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
