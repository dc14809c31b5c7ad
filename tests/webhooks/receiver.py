"""A local HTTP receiver that checks Wedge's webhook signatures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from config.signing import verify


@dataclass
class Receiver:
    secret: str
    url: str = ""
    received: list[dict[str, object]] = field(default_factory=list)
    bad_signatures: int = 0
    fail_first: int = 0  # answer 500 to this many requests first
    sleep_seconds: float = 0.0  # wait this long before answering (a slow receiver)
    answer: tuple[int, dict[str, str], bytes] | None = None  # a fixed reply instead of 204
    on_request: Callable[[str], None] | None = None  # called with X-Wedge-Delivery first
    requests: int = 0  # every POST, whatever was answered
    in_flight: int = 0
    max_in_flight: int = 0
    request_times: list[float] = field(default_factory=list)  # time.monotonic() of each POST
    seen_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)
    _counter: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def _enter(self) -> None:
        with self._counter:
            self.requests += 1
            self.request_times.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._counter:
            self.in_flight -= 1


@contextmanager
def webhook_receiver(secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver._enter()
            try:
                self._handle()
            finally:
                receiver._leave()

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = int(self.headers["X-Wedge-Timestamp"])
            if receiver.on_request is not None:
                receiver.on_request(self.headers["X-Wedge-Delivery"])
            if receiver.sleep_seconds:
                time.sleep(receiver.sleep_seconds)
            if receiver.answer is not None:
                code, headers, reply = receiver.answer
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                return
            with receiver.arrived:
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                if not verify(receiver.secret, timestamp, body, self.headers["X-Wedge-Signature"]):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                delivery = self.headers["X-Wedge-Delivery"]
                if delivery not in receiver.seen_ids:  # de-duplicate by delivery id
                    receiver.seen_ids.add(delivery)
                    receiver.received.append(
                        {
                            "event": self.headers["X-Wedge-Event"],
                            "delivery": delivery,
                            "arrived_at": time.monotonic(),
                            **json.loads(body),
                        }
                    )
                    receiver.arrived.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
