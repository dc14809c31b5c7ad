"""HAProxy's runtime API: set server weights and read them back.

One command per connection (HAProxy's non-interactive mode): the answer is
everything HAProxy writes before it closes, so an error message belongs to
exactly one command.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from agent.config import NAME, HAProxyConfig

# srv_op_state 2 is SRV_ST_RUNNING; srv_admin_state 0 is neither in
# maintenance nor draining. Anything else takes no new traffic.
_RUNNING = 2


class HAProxyError(Exception):
    """HAProxy could not be reached, or refused a command."""


@dataclass(frozen=True)
class ServerState:
    backend: str
    name: str
    weight: int  # the weight set by configuration or `set server ... weight`
    op_state: int
    admin_state: int

    @property
    def serving(self) -> bool:
        return self.op_state == _RUNNING and self.admin_state == 0

    @property
    def traffic_weight(self) -> int:
        """The weight that decides its share of new traffic: 0 unless it is serving."""
        return self.weight if self.serving else 0


class RuntimeAPI:
    def __init__(self, config: HAProxyConfig) -> None:
        self.config = config

    def command(self, line: str) -> str:
        try:
            with self._connect() as conn:
                conn.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise HAProxyError(
                f"runtime API at {self.config.describe()} unreachable: {exc}"
            ) from exc
        return b"".join(chunks).decode(errors="replace")

    def _connect(self) -> socket.socket:
        timeout = self.config.timeout_seconds
        if self.config.socket is not None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            try:
                conn.connect(self.config.socket)
            except OSError:
                conn.close()
                raise
            return conn
        assert self.config.address is not None
        return socket.create_connection(self.config.address, timeout=timeout)

    def servers(self, backend: str) -> dict[str, ServerState]:
        """The servers of ``backend`` by name, from ``show servers state``."""
        _check_name(backend)
        answer = self.command(f"show servers state {backend}")
        lines = [line for line in answer.splitlines() if line.strip()]
        header = next((line for line in lines if line.startswith("# ")), None)
        if header is None:
            raise HAProxyError(f"show servers state {backend}: {answer.strip() or 'no answer'}")
        columns = header[2:].split()
        try:
            name_at, backend_at, op_at, admin_at, weight_at = (
                columns.index(column)
                for column in (
                    "srv_name",
                    "be_name",
                    "srv_op_state",
                    "srv_admin_state",
                    "srv_uweight",
                )
            )
        except ValueError:
            raise HAProxyError(f"unexpected `show servers state` header: {header}") from None
        servers: dict[str, ServerState] = {}
        for line in lines[lines.index(header) + 1 :]:
            fields = line.split()
            if len(fields) < len(columns) - 1 or fields[backend_at] != backend:
                continue
            try:
                state = ServerState(
                    backend=backend,
                    name=fields[name_at],
                    weight=int(fields[weight_at]),
                    op_state=int(fields[op_at]),
                    admin_state=int(fields[admin_at]),
                )
            except (IndexError, ValueError):
                raise HAProxyError(f"unexpected `show servers state` row: {line}") from None
            servers[state.name] = state
        return servers

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        _check_name(backend)
        _check_name(server)
        answer = self.command(f"set server {backend}/{server} weight {weight}").strip()
        # HAProxy answers a successful `set server ... weight` with an empty line.
        if answer:
            raise HAProxyError(f"set server {backend}/{server} weight {weight}: {answer}")


def _check_name(name: str) -> None:
    """Names go into a command line: refuse what could end it or start another."""
    if not NAME.match(name):
        raise HAProxyError(f"not a valid HAProxy backend or server name: {name!r}")
