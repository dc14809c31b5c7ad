"""A stand-in metric backend over real HTTP, for what a real Prometheus will not do on cue:
answer slowly, fail with a 5xx, redirect, or show which headers it was sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Stub:
    status: int = 200
    body: bytes = b'{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}'
    headers: dict[str, str] = field(default_factory=dict)  # extra reply headers
    sleep_seconds: float = 0.0
    url: str = ""
    requests: list[dict[str, object]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def stub_backend(**settings: object) -> Iterator[Stub]:
    stub = Stub(**settings)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with stub.lock:
                stub.requests.append(
                    {
                        "path": parts.path,
                        "params": {k: v[0] for k, v in parse_qs(parts.query).items()},
                        "headers": dict(self.headers.items()),
                    }
                )
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            try:
                time.sleep(stub.sleep_seconds)
                self.send_response(stub.status)
                for name, value in stub.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): as a slow server sees it
            finally:
                with stub.lock:
                    stub.in_flight -= 1

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
