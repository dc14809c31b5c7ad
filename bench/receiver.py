"""A deployer's webhook endpoint for the benchmarks: checks signatures, notes arrival times.

Like ``tests/webhooks/receiver.py`` it verifies ``X-Wedge-Signature`` and
de-duplicates by ``X-Wedge-Delivery``; unlike it, it stamps each delivery with
``time.perf_counter()`` when it arrives, so the benchmark (same process, same
clock) can measure from the moment it sent the snapshot.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from config.signing import verify


@dataclass
class Arrival:
    event: str
    delivery: str
    proposal_id: int
    at: float  # time.perf_counter() when the body had been read
    payload: dict[str, object]


@dataclass
class TimedReceiver:
    secret: str
    url: str = ""
    arrivals: dict[tuple[str, int], Arrival] = field(default_factory=dict)
    seen_deliveries: set[str] = field(default_factory=set)
    duplicates: int = 0  # the same X-Wedge-Delivery again (a retry after a lost answer)
    double_events: int = 0  # another delivery id for the same event of the same proposal
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def wait_for(self, event: str, proposal_id: int, timeout: float) -> Arrival | None:
        key = (event, proposal_id)
        with self.arrived:
            self.arrived.wait_for(lambda: key in self.arrivals, timeout)
            return self.arrivals.get(key)


@contextmanager
def timed_receiver(secret: str) -> Iterator[TimedReceiver]:
    receiver = TimedReceiver(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            at = time.perf_counter()
            timestamp = int(self.headers.get("X-Wedge-Timestamp", "0"))
            status = 204
            if not verify(receiver.secret, timestamp, body, self.headers["X-Wedge-Signature"]):
                status = 401
            payload = json.loads(body) if status == 204 else {}
            with receiver.arrived:
                if status == 401:
                    receiver.bad_signatures += 1
                else:
                    delivery = self.headers["X-Wedge-Delivery"]
                    key = (self.headers["X-Wedge-Event"], int(payload["proposal_id"]))
                    if delivery in receiver.seen_deliveries:
                        receiver.duplicates += 1
                    elif key in receiver.arrivals:
                        receiver.double_events += 1
                    else:
                        receiver.seen_deliveries.add(delivery)
                        receiver.arrivals[key] = Arrival(key[0], delivery, key[1], at, payload)
                        receiver.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
