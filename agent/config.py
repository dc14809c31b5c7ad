"""The agent's configuration: one TOML file, checked in full before anything starts.

```toml
[wedge]
url = "https://wedge.example.org"
token_file = "/etc/wedge-agent/token"      # or token = "..."
poll_seconds = 10

[webhook]                                  # optional: without it the agent only polls
listen = "0.0.0.0:8787"
secret_file = "/etc/wedge-agent/webhook-secret"

[haproxy]
socket = "/run/haproxy/admin.sock"         # or address = "127.0.0.1:9999"

[[follow]]
proposal = 42
backend = "connector"
stable = "stable"
canary = "canary"
```
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# What HAProxy accepts as a backend or server name, and nothing that could end
# a runtime API command line.
NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names every problem."""


@dataclass(frozen=True)
class WedgeConfig:
    url: str  # the server's base URL; the API is under /api/v1/
    token: str
    poll_seconds: float = 10.0
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class WebhookConfig:
    host: str
    port: int
    secret: str
    path: str = "/hooks/wedge"
    # How far a delivery's X-Wedge-Timestamp may be from this machine's clock.
    max_age_seconds: float = 300.0


@dataclass(frozen=True)
class HAProxyConfig:
    socket: str | None = None
    address: tuple[str, int] | None = None
    timeout_seconds: float = 2.0
    retry_seconds: float = 2.0

    def describe(self) -> str:
        if self.socket is not None:
            return f"unix:{self.socket}"
        assert self.address is not None
        return f"{self.address[0]}:{self.address[1]}"


@dataclass(frozen=True)
class Follow:
    """One proposal and the HAProxy servers that carry its stable and canary versions."""

    proposal: int
    backend: str
    stable: str
    canary: str


@dataclass(frozen=True)
class Config:
    wedge: WedgeConfig
    webhook: WebhookConfig | None
    haproxy: HAProxyConfig
    follows: tuple[Follow, ...]


def load(path: Path) -> Config:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, base=path.parent)


def parse(data: dict[str, Any], *, base: Path = Path(".")) -> Config:
    """A ``Config`` from parsed TOML, or ``ConfigError`` listing every problem.

    Relative ``*_file`` paths are read from ``base`` (the file's folder).
    """
    reader = _Reader(base)
    reader.unknown(data, "", {"wedge", "webhook", "haproxy", "follow"})
    wedge = reader.wedge(reader.table(data, "wedge", required=True))
    webhook_table = reader.table(data, "webhook", required=False)
    webhook = reader.webhook(webhook_table) if webhook_table is not None else None
    haproxy = reader.haproxy(reader.table(data, "haproxy", required=True))
    follows = reader.follows(data.get("follow"))
    if reader.problems:
        raise ConfigError("; ".join(reader.problems))
    assert wedge is not None
    assert haproxy is not None
    return Config(wedge=wedge, webhook=webhook, haproxy=haproxy, follows=follows)


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def unknown(self, table: dict[str, Any], prefix: str, known: set[str]) -> None:
        for key in sorted(set(table) - known):
            self.problem(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(known))})")

    def table(self, data: dict[str, Any], key: str, *, required: bool) -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key, "required table is missing")
                return {}
            return None
        if not isinstance(value, dict):
            self.problem(key, "must be a table")
            return {}
        return value

    def string(self, table: dict[str, Any], key: str, prefix: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{prefix}{key}", "must be a non-empty string")
            return None
        return value.strip()

    def number(
        self, table: dict[str, Any], key: str, prefix: str, default: float, minimum: float
    ) -> float:
        value = table.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < minimum
        ):
            self.problem(f"{prefix}{key}", f"must be a number >= {minimum}")
            return default
        return float(value)

    def secret(self, table: dict[str, Any], key: str, prefix: str) -> str:
        """``key`` inline or ``key_file`` (a file holding it), exactly one of them."""
        inline = self.string(table, key, prefix)
        file_name = self.string(table, f"{key}_file", prefix)
        if (inline is None) == (file_name is None):
            self.problem(f"{prefix}{key}", f"give exactly one of {key} and {key}_file")
            return ""
        if inline is not None:
            return inline
        assert file_name is not None
        path = self.base / file_name
        try:
            value = path.read_text().strip()
        except OSError as exc:
            self.problem(f"{prefix}{key}_file", f"cannot read {path}: {exc.strerror or exc}")
            return ""
        if not value:
            self.problem(f"{prefix}{key}_file", f"{path} is empty")
        return value

    def host_port(self, value: str, key: str) -> tuple[str, int] | None:
        host, _, port = value.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
            self.problem(key, f'must be "host:port", not {value!r}')
            return None
        return host.strip("[]"), int(port)

    def wedge(self, table: dict[str, Any] | None) -> WedgeConfig | None:
        if table is None:
            return None
        self.unknown(
            table, "wedge.", {"url", "token", "token_file", "poll_seconds", "timeout_seconds"}
        )
        url = self.string(table, "url", "wedge.")
        if url is None:
            self.problem("wedge.url", "required")
        elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            self.problem("wedge.url", f"must be an http(s) URL, not {url!r}")
        token = self.secret(table, "token", "wedge.")
        return WedgeConfig(
            url=(url or "").rstrip("/"),
            token=token,
            poll_seconds=self.number(table, "poll_seconds", "wedge.", 10.0, minimum=0.1),
            timeout_seconds=self.number(table, "timeout_seconds", "wedge.", 5.0, minimum=0.1),
        )

    def webhook(self, table: dict[str, Any]) -> WebhookConfig:
        self.unknown(
            table, "webhook.", {"listen", "path", "secret", "secret_file", "max_age_seconds"}
        )
        listen = self.string(table, "listen", "webhook.")
        address = self.host_port(listen, "webhook.listen") if listen else None
        if listen is None:
            self.problem("webhook.listen", 'required ("host:port")')
        path = self.string(table, "path", "webhook.") or "/hooks/wedge"
        if not path.startswith("/"):
            self.problem("webhook.path", "must start with /")
        secret = self.secret(table, "secret", "webhook.")
        host, port = address or ("127.0.0.1", 0)
        return WebhookConfig(
            host=host,
            port=port,
            secret=secret,
            path=path,
            max_age_seconds=self.number(table, "max_age_seconds", "webhook.", 300.0, minimum=1),
        )

    def haproxy(self, table: dict[str, Any] | None) -> HAProxyConfig | None:
        if table is None:
            return None
        self.unknown(table, "haproxy.", {"socket", "address", "timeout_seconds", "retry_seconds"})
        socket = self.string(table, "socket", "haproxy.")
        address_text = self.string(table, "address", "haproxy.")
        address = self.host_port(address_text, "haproxy.address") if address_text else None
        if (socket is None) == (address_text is None):
            self.problem("haproxy", "give exactly one of socket (a unix socket) and address")
        return HAProxyConfig(
            socket=socket,
            address=address,
            timeout_seconds=self.number(table, "timeout_seconds", "haproxy.", 2.0, minimum=0.1),
            retry_seconds=self.number(table, "retry_seconds", "haproxy.", 2.0, minimum=0.1),
        )

    def follows(self, value: Any) -> tuple[Follow, ...]:
        if not isinstance(value, list) or not value:
            self.problem("follow", "name at least one proposal in a [[follow]] table")
            return ()
        follows: list[Follow] = []
        for index, table in enumerate(value):
            prefix = f"follow[{index}]."
            if not isinstance(table, dict):
                self.problem(f"follow[{index}]", "must be a table")
                continue
            self.unknown(table, prefix, {"proposal", "backend", "stable", "canary"})
            proposal = table.get("proposal")
            if isinstance(proposal, bool) or not isinstance(proposal, int) or proposal < 1:
                self.problem(f"{prefix}proposal", "must be a proposal id (a positive integer)")
                proposal = 0
            names = {
                key: self.string(table, key, prefix) for key in ("backend", "stable", "canary")
            }
            for key, name in names.items():
                if name is None and key not in table:
                    self.problem(f"{prefix}{key}", "required")
                elif name is not None and not NAME.match(name):
                    self.problem(f"{prefix}{key}", f"not a valid HAProxy name: {name!r}")
            if names["stable"] is not None and names["stable"] == names["canary"]:
                self.problem(prefix.rstrip("."), "stable and canary must be different servers")
            follows.append(
                Follow(
                    proposal=proposal,
                    backend=names["backend"] or "",
                    stable=names["stable"] or "",
                    canary=names["canary"] or "",
                )
            )
        proposals = [f.proposal for f in follows]
        for proposal in sorted({p for p in proposals if proposals.count(p) > 1}):
            self.problem("follow", f"proposal {proposal} is followed twice")
        servers = [(f.backend, name) for f in follows for name in (f.stable, f.canary)]
        for backend, server in sorted({s for s in servers if servers.count(s) > 1}):
            self.problem("follow", f"server {backend}/{server} belongs to two proposals")
        return tuple(follows)
