"""The Wedge API as the commands use it: one client, one way of failing.

Configuration comes from the environment: ``WEDGE_URL`` (the server, e.g.
``https://wedge.example.org``) and ``WEDGE_TOKEN`` (an API token; see the
README's "Scoped tokens"). Every answer that is not a success becomes a
``CliError`` with one line to print and the exit code pipelines branch on:
a 4xx is the server refusing (exit 1) with its ``{"errors": [...]}``, a
network failure, a timeout or a 5xx is the server being unreachable (exit 5).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import __version__
from .errors import CliError, Exit

API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class ApiError:
    """One entry of the API's error shape."""

    field: str | None
    code: str
    message: str

    def line(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message} [{self.code}]"


class Refused(CliError):
    """The server answered 4xx; ``errors`` as it listed them."""

    def __init__(self, message: str, status: int, errors: list[ApiError]) -> None:
        super().__init__(message, Exit.REFUSED)
        self.status = status
        self.errors = errors


@dataclass
class Client:
    url: str
    token: str
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_environment(cls, url: str | None, timeout: float) -> Client:
        """A client for ``url`` (or ``WEDGE_URL``) and ``WEDGE_TOKEN``; exit 2 if one is missing."""
        url = (url or "").strip()
        if not url:
            raise CliError("WEDGE_URL is not set: the Wedge server, e.g. https://wedge.example.org")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CliError(f"WEDGE_URL must be an http(s) URL, not {url!r}")
        token = os.environ.get("WEDGE_TOKEN", "").strip()
        if not token:
            raise CliError("WEDGE_TOKEN is not set: an API token of the Wedge server")
        return cls(url.rstrip("/"), token, timeout)

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.url + API_PREFIX,
                headers={
                    "Authorization": f"Token {self.token}",
                    "Accept": "application/json",
                    "User-Agent": f"wedge-cli/{__version__}",
                },
                timeout=self.timeout,
                transport=self.transport,
                follow_redirects=False,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # --- Calls ---------------------------------------------------------------------------------

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        where = f"{self.url}{API_PREFIX}{path}"
        try:
            response = self.http.request(method, path, json=json, content=content, headers=headers)
        except httpx.TimeoutException:
            raise CliError(
                f"{where}: no answer within {self.timeout:g} s", Exit.UNREACHABLE
            ) from None
        except httpx.HTTPError as error:
            raise CliError(f"cannot reach {self.url}: {_reason(error)}", Exit.UNREACHABLE) from None
        return self._answer(method, where, response)

    def _answer(self, method: str, where: str, response: httpx.Response) -> Any:
        status = response.status_code
        if status >= 500:
            raise CliError(f"{method} {where}: the server failed (HTTP {status})", Exit.UNREACHABLE)
        body = _json(response)
        if 300 <= status < 400:
            raise CliError(
                f"{method} {where}: redirected (HTTP {status}) to "
                f"{response.headers.get('Location', '?')}; check WEDGE_URL",
                Exit.USAGE,
            )
        if status >= 400 and body is _NOT_JSON:
            content_type = response.headers.get("Content-Type", "no content type")
            raise Refused(
                f"{method} {where}: HTTP {status}, and not an answer of the Wedge API "
                f"({content_type}); check WEDGE_URL",
                status,
                [],
            )
        if status >= 400:
            errors = _errors(body)
            first = errors[0].line() if errors else f"HTTP {status}"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise Refused(f"{method} {where}: HTTP {status}: {first}{more}", status, errors)
        if body is _NOT_JSON:
            content_type = response.headers.get("Content-Type", "no content type")
            raise CliError(
                f"{method} {where}: the answer is not JSON ({content_type}); check WEDGE_URL",
                Exit.UNREACHABLE,
            )
        return body


_NOT_JSON: Any = object()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _errors(body: Any) -> list[ApiError]:
    """The API's ``{"errors": [{"field", "code", "message"}]}``, tolerating anything else."""
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [
        ApiError(
            item.get("field") if isinstance(item.get("field"), str) else None,
            str(item.get("code", "error")),
            str(item.get("message", "")),
        )
        for item in items
        if isinstance(item, dict)
    ]


def _reason(error: httpx.HTTPError) -> str:
    """What went wrong, in a few words (the innermost cause's message)."""
    cause: BaseException = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause) or type(cause).__name__
    return text.split("\n", 1)[0]
