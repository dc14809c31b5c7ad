"""Signed webhooks from Wedge: verify them, drop replays, hand them to the reconciler.

A delivery is trusted only if ``X-Wedge-Signature`` is the HMAC-SHA256 of
``"<X-Wedge-Timestamp>.<body>"`` with the shared secret and the timestamp is
within ``max_age_seconds`` of this machine's clock. Wedge signs every attempt
afresh, so rejecting a stale one costs nothing: its retry carries a new
timestamp. A delivery id seen before is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.config import WebhookConfig
from agent.logs import EventLog
from agent.wedge import DesiredState

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Event:
    """A verified delivery: which proposal, what it now wants, and when that was decided."""

    delivery: str
    code: str
    proposal: int
    state: DesiredState
    occurred_at: datetime


class Rejected(Exception):
    """A delivery the agent does not trust or cannot read; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class Verifier:
    def __init__(self, secret: str, max_age_seconds: float, remember: int = 10_000) -> None:
        self.secret = secret
        self.max_age = max_age_seconds
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes) -> Event | None:
        """The delivery's event; ``None`` for a replay. Raises ``Rejected``.

        The signature is checked before anything in the body is believed, and
        a delivery id is remembered only once its signature holds, so a forger
        cannot fill the replay memory.
        """
        timestamp = headers.get("X-Wedge-Timestamp", "")
        given = headers.get("X-Wedge-Signature", "")
        delivery = headers.get("X-Wedge-Delivery", "")
        if not given:
            raise Rejected(401, "unsigned")
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise Rejected(401, "missing or malformed X-Wedge-Timestamp")
        if not hmac.compare_digest(signature(self.secret, timestamp, body), given):
            raise Rejected(401, "bad signature")
        age = time.time() - int(timestamp)
        if abs(age) > self.max_age:
            raise Rejected(401, f"stale: signed {age:.0f} s from now, beyond {self.max_age:.0f} s")
        if not delivery:
            raise Rejected(400, "missing X-Wedge-Delivery")
        event = _event(delivery, headers.get("X-Wedge-Event", ""), body)
        with self._lock:
            if delivery in self._seen:
                self._seen.move_to_end(delivery)
                return None
            self._seen[delivery] = None
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)
        return event


def _event(delivery: str, header_code: str, body: bytes) -> Event:
    try:
        payload: Any = json.loads(body)
        state = DesiredState.from_json(payload)
        code = payload.get("event")
        proposal = payload.get("proposal_id")
        occurred_at = datetime.fromisoformat(payload["occurred_at"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Rejected(400, f"unreadable payload: {exc}") from None
    if not isinstance(code, str) or code != header_code:
        raise Rejected(400, "the payload's event does not match X-Wedge-Event")
    if isinstance(proposal, bool) or not isinstance(proposal, int):
        raise Rejected(400, "proposal_id must be an integer")
    if occurred_at.tzinfo is None:
        raise Rejected(400, "occurred_at must carry a time zone")
    return Event(delivery, code, proposal, state, occurred_at)


class Listener:
    """The HTTP endpoint Wedge delivers to, plus ``GET /healthz`` with the agent's status.

    It only verifies and queues: the reconciler applies events one at a time
    on its own thread, so the answer to Wedge never waits for HAProxy.
    """

    def __init__(
        self,
        config: WebhookConfig,
        *,
        followed: set[int],
        accept: Callable[[Event], None],
        status: Callable[[], tuple[bool, dict[str, Any]]],
        log: EventLog,
    ) -> None:
        self.config = config
        self.verifier = Verifier(config.secret, config.max_age_seconds)
        self.followed = followed
        self.accept = accept
        self.status = status
        self.log = log
        self.server = ThreadingHTTPServer((config.host, config.port), self._handler())
        self.server.daemon_threads = True

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="webhooks", daemon=True
        )
        thread.start()
        return thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def receive(self, headers: Mapping[str, str], body: bytes) -> int:
        """Handle one delivery; the HTTP status to answer."""
        try:
            event = self.verifier.verify(headers, body)
        except Rejected as rejected:
            self.log.warning(
                "webhook_rejected",
                reason=rejected.reason,
                delivery=headers.get("X-Wedge-Delivery"),
                status=rejected.status,
            )
            return rejected.status
        if event is None:
            self.log.info("webhook_replayed", delivery=headers.get("X-Wedge-Delivery"))
            return 204
        if event.proposal not in self.followed:
            self.log.debug("webhook_not_followed", proposal=event.proposal, delivery=event.delivery)
            return 204
        self.accept(event)
        return 202

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "wedge-agent"

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != listener.config.path:
                    self._answer(404)
                    return
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    self._answer(411)
                    return
                if not 0 <= length <= MAX_BODY_BYTES:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                headers = {key: self.headers.get(key, "") for key in _HEADERS}
                self._answer(listener.receive(headers, body))

            def do_GET(self) -> None:
                if self.path != "/healthz":
                    self._answer(404)
                    return
                healthy, body = listener.status()
                self._answer(200 if healthy else 503, json.dumps(body).encode())

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                if body:
                    self.send_header("Content-Type", "application/json")
                if status != 204:  # a 204 has no body, not even its length
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # every delivery is logged once, as an event, by `receive`

        return Handler


_HEADERS = ("X-Wedge-Event", "X-Wedge-Delivery", "X-Wedge-Timestamp", "X-Wedge-Signature")
