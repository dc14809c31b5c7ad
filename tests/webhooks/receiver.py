"""A local HTTP receiver that checks Wedge's webhook signatures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
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
    seen_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)


@contextmanager
def webhook_receiver(secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = int(self.headers["X-Wedge-Timestamp"])
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
