"""Debian's HAProxy in front of a stable and a canary server, with its runtime API.

One frontend on a free loopback port, one backend ``app`` with the servers
``stable`` (weight 256) and ``canary`` (weight 0) until someone sets them, and
the runtime API on a unix socket at admin level, as a deployer configures it
for the agent (``agent/example.toml``).
"""

from __future__ import annotations

import csv
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.config import HAProxyConfig
from agent.haproxy import RuntimeAPI
from harness.processes import free_port, stop, until

HAPROXY = Path("/usr/sbin/haproxy")

CONFIG = """\
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
    stable_port: int
    canary_port: int
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()

    @property
    def socket(self) -> Path:
        return self.directory / "admin.sock"

    @property
    def config(self) -> HAProxyConfig:
        return HAProxyConfig(socket=str(self.socket), timeout_seconds=1.0, retry_seconds=0.05)

    @property
    def api(self) -> RuntimeAPI:
        return RuntimeAPI(self.config)

    def start(self, timeout: float = 10) -> None:
        assert HAPROXY.exists(), "HAProxy is missing: scripts/ensure-services.sh installs it"
        config = self.directory / "haproxy.cfg"
        config.write_text(
            CONFIG.format(
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
        until(lambda: self._answers() or process.poll() is not None, timeout, "HAProxy answering")
        assert process.poll() is None, self.log()

    def log(self) -> str:
        return (self.directory / "haproxy.log").read_text(errors="replace")[-3000:]

    def _answers(self) -> bool:
        try:
            return "# be_id" in self.api.command("show servers state")
        except Exception:
            return False

    def stop(self) -> None:
        stop(self.process, timeout=10)
        self.process = None

    def weights(self) -> tuple[int, int]:
        """(canary, stable) as HAProxy has them (``show servers state``)."""
        servers = self.api.servers("app")
        return servers["canary"].weight, servers["stable"].weight

    def set_weight(self, server: str, weight: int) -> None:
        self.api.set_weight("app", server, weight)

    def stats(self) -> dict[str, dict[str, str]]:
        """The backend's servers' rows of ``show stat`` by name (``stot``: requests sent to it,
        ``hrsp_5xx``: its 5xx answers)."""
        text = self.api.command("show stat").lstrip("# ")
        rows = csv.DictReader(line for line in text.splitlines() if line.strip())
        return {row["svname"]: row for row in rows if row["pxname"] == "app"}

    def sent(self) -> tuple[int, int]:
        """(canary, stable): how many requests HAProxy has sent to each server so far."""
        stats = self.stats()
        return int(stats["canary"]["stot"]), int(stats["stable"]["stot"])

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
