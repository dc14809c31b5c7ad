"""A real Prometheus, a real Alertmanager and a small service that exports counters.

Used by the tests and the benchmarks alike::

    from harness.prometheus import Exporter, Prometheus, scrape_job

    exporter = Exporter.start()
    with Prometheus.running(tmp_path, [scrape_job("app", exporter.address)]) as prometheus:
        exporter.set_traffic(ok_per_second=50, errors_per_second=0)
        prometheus.wait_for("sum(rate(app_requests_total[5s]))", lambda v: v and v > 0)

Each server runs on a free loopback port with its configuration written to a
temporary directory, and is stopped by the PID it was started with. Debian's
packages provide the binaries (``scripts/ensure-services.sh`` installs them).
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from harness.processes import free_port, stop, until

PROMETHEUS = Path("/usr/bin/prometheus")
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")


def scrape_job(name: str, address: str, *, interval: str = "1s") -> dict[str, Any]:
    """A ``scrape_configs`` entry for one target (``host:port``)."""
    return {
        "job_name": name,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "static_configs": [{"targets": [address]}],
    }


# --- The service being rolled out: counters and gauges over HTTP ----------------------------


@dataclass
class Exporter:
    """A stand-in service that exports ``app_requests_total{code}`` and test gauges.

    A background thread adds requests at the rates ``set_traffic`` gives, ten
    times a second, so ``rate()`` over a few seconds reads them back.
    ``gauge.labels(...).set(...)`` sets ``app_test_value{case}`` directly (NaN
    and infinities included) for the answers a rate cannot produce.
    """

    registry: CollectorRegistry
    requests: Counter
    gauge: Gauge
    port: int
    ok_per_second: float = 0.0
    errors_per_second: float = 0.0
    _server: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls) -> Exporter:
        registry = CollectorRegistry()
        counter = Counter(
            "app_requests", "Requests served, by status code.", ["code"], registry=registry
        )
        gauge = Gauge("app_test_value", "A value a test sets.", ["case"], registry=registry)
        port = free_port()
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
        exporter = cls(registry, counter, gauge, port, _server=server)
        # Both series exist from the start, so a rate is 0 rather than absent.
        counter.labels(code="200").inc(0)
        counter.labels(code="500").inc(0)
        threading.Thread(target=exporter._traffic, daemon=True).start()
        return exporter

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_traffic(self, *, ok_per_second: float, errors_per_second: float) -> None:
        self.ok_per_second, self.errors_per_second = ok_per_second, errors_per_second

    def _traffic(self) -> None:
        while not self._stop.wait(0.1):
            self.requests.labels(code="200").inc(self.ok_per_second / 10)
            self.requests.labels(code="500").inc(self.errors_per_second / 10)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- Prometheus -----------------------------------------------------------------------------


@dataclass
class Prometheus:
    """Debian's Prometheus on a free loopback port, scraping the given jobs."""

    directory: Path
    scrape_configs: list[dict[str, Any]]
    port: int = field(default_factory=free_port)
    evaluation_interval: str = "1s"
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    @contextmanager
    def running(cls, directory: Path, scrape_configs: list[dict[str, Any]]) -> Iterator[Prometheus]:
        server = cls(directory, scrape_configs)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        assert PROMETHEUS.exists(), "Prometheus is missing: scripts/ensure-services.sh installs it"
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "prometheus.yml"
        # JSON is YAML: no YAML library needed to write the configuration.
        config.write_text(
            json.dumps(
                {
                    "global": {
                        "scrape_interval": "1s",
                        "evaluation_interval": self.evaluation_interval,
                    },
                    "scrape_configs": self.scrape_configs,
                }
            )
        )
        log = (self.directory / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        process = self.process
        until(lambda: self._ready() or process.poll() is not None, timeout, "Prometheus ready")
        assert process.poll() is None, self.log()

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return (self.directory / "prometheus.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    def query(self, text: str) -> list[Any]:
        """The instant query's result list, as Prometheus answers it."""
        body = requests.get(f"{self.url}/api/v1/query", params={"query": text}, timeout=5).json()
        assert body["status"] == "success", body
        result: list[Any] = body["data"]["result"]
        return result

    def value(self, text: str) -> float | None:
        """The single value of an instant query (``None`` for an empty vector)."""
        result = self.query(text)
        if not result:
            return None
        return float(result[0]["value"][1]) if isinstance(result[0], dict) else float(result[1])

    def wait_for(
        self,
        text: str,
        predicate: Callable[[float | None], bool],
        timeout: float = 20,
        interval: float = 0.1,
    ) -> float | None:
        """Until ``predicate(value(text))`` holds; the value it held for."""
        seen: list[float | None] = []

        def holds() -> bool:
            seen.append(self.value(text))
            return predicate(seen[-1])

        until(holds, timeout, f"{text} to satisfy the test", interval)
        return seen[-1]

    def version(self) -> str:
        body = requests.get(f"{self.url}/api/v1/status/buildinfo", timeout=5).json()
        return str(body["data"]["version"])

    def wait_for_target(self, job: str, timeout: float = 20) -> None:
        """Until the job's target has been scraped successfully."""
        self.wait_for(f'up{{job="{job}"}}', lambda value: value == 1, timeout)


def is_nan(value: float | None) -> bool:
    return value is not None and math.isnan(value)


# --- Alertmanager ---------------------------------------------------------------------------


@dataclass
class Alertmanager:
    """Debian's Alertmanager on a free loopback port, sending to one webhook with a token."""

    directory: Path
    webhook_url: str
    token: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    @contextmanager
    def running(cls, directory: Path, webhook_url: str, token: str) -> Iterator[Alertmanager]:
        server = cls(directory, webhook_url, token)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        assert ALERTMANAGER.exists(), (
            "Alertmanager is missing: scripts/ensure-services.sh installs it"
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "alertmanager.yml"
        config.write_text(
            json.dumps(
                {
                    "route": {
                        "receiver": "wedge",
                        "group_by": ["alertname", "wedge_proposal", "wedge_subsystem"],
                        "group_wait": "1s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [
                        {
                            "name": "wedge",
                            "webhook_configs": [
                                {
                                    "url": self.webhook_url,
                                    "send_resolved": True,
                                    "http_config": {
                                        "authorization": {
                                            "type": "Token",
                                            "credentials": self.token,
                                        }
                                    },
                                }
                            ],
                        }
                    ],
                }
            )
        )
        log = (self.directory / "alertmanager.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(ALERTMANAGER),
                f"--config.file={config}",
                f"--storage.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # a single instance: no gossip port
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        process = self.process
        until(lambda: self._ready() or process.poll() is not None, timeout, "Alertmanager ready")
        assert process.poll() is None, self.log()

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return (self.directory / "alertmanager.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    def fire(
        self,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        *,
        starts_at: str | None = None,
        ends_at: str | None = None,
    ) -> None:
        """Post an alert to Alertmanager's API, as Prometheus's rule evaluation would."""
        alert: dict[str, Any] = {"labels": labels, "annotations": annotations or {}}
        if starts_at:
            alert["startsAt"] = starts_at
        if ends_at:
            alert["endsAt"] = ends_at
        response = requests.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=5)
        assert response.status_code == 200, response.text
