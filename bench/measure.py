"""Small measuring tools: a keep-alive HTTP client, percentiles and the printed tables."""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    section: str
    figure: str
    value: str
    how: str


class BenchFailed(RuntimeError):
    """The system under test did not do what the benchmark relies on: no figure is printed."""


def check(condition: object, detail: object) -> None:
    """Like ``assert``, but not stripped by ``python -O``: a wrong answer voids a figure."""
    if not condition:
        raise BenchFailed(repr(detail))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample >= ``fraction`` of all samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


class Http:
    """One keep-alive connection to the server under test, as a deployer's agent holds it.

    ``http.client`` rather than ``requests``: the client should cost as little
    CPU as possible, since it shares two cores with the server it measures.
    """

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = headers or {}
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=sent)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection before reading
                # the request: nothing was processed, so sending again is safe.
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, payload
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, payload = self.request(method, path, body)
        return status, json.loads(payload) if payload else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def print_rows(title: str, rows: Sequence[Row]) -> None:
    """One section: figure, value and how it was measured, aligned."""
    print(f"\n== {title} ==", flush=True)
    width_figure = max(len(r.figure) for r in rows)
    width_value = max(len(r.value) for r in rows)
    for row in rows:
        print(f"  {row.figure:<{width_figure}}  {row.value:>{width_value}}  | {row.how}")


def print_summary(rows: Sequence[Row]) -> None:
    """The closing table: every figure of the run, grouped by section."""
    headers = ("area", "figure", "value")
    widths = [
        max(len(headers[0]), *(len(r.section) for r in rows)),
        max(len(headers[1]), *(len(r.figure) for r in rows)),
        max(len(headers[2]), *(len(r.value) for r in rows)),
    ]
    rule = "+".join("-" * (w + 2) for w in widths)

    def line(cells: tuple[str, str, str], right_value: bool) -> str:
        first, second, third = cells
        value = f"{third:>{widths[2]}}" if right_value else f"{third:<{widths[2]}}"
        return f" {first:<{widths[0]}} | {second:<{widths[1]}} | {value} "

    print("\nSUMMARY")
    print(rule)
    print(line(headers, right_value=False))
    print(rule)
    previous = None
    for row in rows:
        section = row.section if row.section != previous else ""
        previous = row.section
        print(line((section, row.figure, row.value), right_value=True))
    print(rule, flush=True)
