"""The configured metric providers: admins' rows plus the default from the environment.

``WEDGE_PROMETHEUS_URL`` gives a provider named ``prometheus`` without a row;
an admin's row of the same name takes its place. ``check_provider`` is the
one check of a provider's settings, used by the admin form (and so by
anything that stores a row), so a bad base URL or timeout is a field error
rather than a failure at the first poll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from django.conf import settings

from config.refusals import FieldError
from providers.kinds import KIND_NAMES
from providers.models import AuthType, MetricProvider

DEFAULT_NAME: Final = "prometheus"
NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
MIN_TIMEOUT: Final = 0.1
MAX_TIMEOUT: Final = 60.0
MAX_CONCURRENCY: Final = 64

# Field error codes.
INVALID_NAME: Final = "invalid_name"
INVALID_URL: Final = "invalid_url"
CREDENTIALS_IN_URL: Final = "credentials_in_url"
OUT_OF_RANGE: Final = "out_of_range"
UNKNOWN_KIND: Final = "unknown_kind"
CREDENTIALS_MISSING: Final = "credentials_missing"


@dataclass(frozen=True)
class ProviderConfig:
    """One provider as the poller uses it; the credentials never leave this object."""

    name: str
    kind: str
    base_url: str
    timeout_seconds: float = 5.0
    max_concurrency: int = 8
    auth_type: str = AuthType.NONE
    bearer_token: str = ""
    username: str = ""
    password: str = ""
    source: Literal["database", "environment"] = "database"

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "wedge-metrics/1"}
        if self.auth_type == AuthType.BEARER and self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        return headers

    def basic_auth(self) -> tuple[str, str] | None:
        if self.auth_type == AuthType.BASIC:
            return (self.username, self.password)
        return None

    @property
    def has_credentials(self) -> bool:
        return self.auth_type != AuthType.NONE

    def __repr__(self) -> str:  # never print a credential, even in a traceback
        return f"ProviderConfig(name={self.name!r}, kind={self.kind!r}, url={self.base_url!r})"


def from_row(row: MetricProvider) -> ProviderConfig:
    return ProviderConfig(
        name=row.name,
        kind=row.kind,
        base_url=row.base_url,
        timeout_seconds=row.timeout_seconds,
        max_concurrency=row.max_concurrency,
        auth_type=row.auth_type,
        bearer_token=row.bearer_token,
        username=row.username,
        password=row.password,
    )


def from_environment() -> ProviderConfig | None:
    url = settings.WEDGE_PROMETHEUS_URL
    if not url:
        return None
    token = settings.WEDGE_PROMETHEUS_BEARER_TOKEN
    return ProviderConfig(
        name=DEFAULT_NAME,
        kind="prometheus",
        base_url=url,
        timeout_seconds=settings.WEDGE_PROMETHEUS_TIMEOUT_SECONDS,
        auth_type=AuthType.BEARER if token else AuthType.NONE,
        bearer_token=token,
        source="environment",
    )


def configured() -> dict[str, ProviderConfig]:
    """Every provider by name (one query)."""
    providers: dict[str, ProviderConfig] = {}
    default = from_environment()
    if default is not None:
        providers[default.name] = default
    for row in MetricProvider.objects.all():
        providers[row.name] = from_row(row)
    return providers


def provider_names() -> list[str]:
    """The names a query may use (``wedges.hooks``: validation rule 11)."""
    names = set(MetricProvider.objects.values_list("name", flat=True))
    if settings.WEDGE_PROMETHEUS_URL:
        names.add(DEFAULT_NAME)
    return sorted(names)


def check_provider(
    *,
    name: str,
    kind: str,
    base_url: str,
    timeout_seconds: float | None,
    max_concurrency: int | None,
    auth_type: str,
    bearer_token: str,
    username: str,
    password: str,
) -> list[FieldError]:
    """Every problem with a provider's settings, each on its field."""
    problems: list[FieldError] = []
    if not NAME_PATTERN.fullmatch(name or ""):
        problems.append(
            FieldError(
                "name",
                INVALID_NAME,
                "Use 1 to 50 lower-case letters, digits, '-' and '_', starting with a letter "
                "or digit: queries name the provider by it.",
            )
        )
    if kind not in KIND_NAMES:
        problems.append(
            FieldError("kind", UNKNOWN_KIND, f"The kind must be one of {', '.join(KIND_NAMES)}.")
        )
    problems.extend(_url_problems(base_url))
    if timeout_seconds is None or not MIN_TIMEOUT <= timeout_seconds <= MAX_TIMEOUT:
        problems.append(
            FieldError(
                "timeout_seconds",
                OUT_OF_RANGE,
                f"The timeout must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} seconds.",
            )
        )
    if max_concurrency is None or not 1 <= max_concurrency <= MAX_CONCURRENCY:
        problems.append(
            FieldError(
                "max_concurrency",
                OUT_OF_RANGE,
                f"At most between 1 and {MAX_CONCURRENCY} queries at once.",
            )
        )
    if auth_type == AuthType.BEARER and not bearer_token:
        problems.append(
            FieldError("bearer_token", CREDENTIALS_MISSING, "Bearer auth needs a token.")
        )
    if auth_type == AuthType.BASIC:
        if not username:
            problems.append(
                FieldError("username", CREDENTIALS_MISSING, "Basic auth needs a user name.")
            )
        if not password:
            problems.append(
                FieldError("password", CREDENTIALS_MISSING, "Basic auth needs a password.")
            )
    return problems


def _url_problems(base_url: str) -> list[FieldError]:
    try:
        parts = urlsplit(base_url or "")
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        return [FieldError("base_url", INVALID_URL, f"Not a usable URL: {exc}.")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            FieldError(
                "base_url",
                INVALID_URL,
                "Use an http:// or https:// URL with a host, e.g. http://prometheus:9090.",
            )
        ]
    if "@" in parts.netloc:
        return [
            FieldError(
                "base_url",
                CREDENTIALS_IN_URL,
                "Put no user name or password in the URL; use the auth fields, which are "
                "never shown again.",
            )
        ]
    if parts.query or parts.fragment:
        return [
            FieldError(
                "base_url",
                INVALID_URL,
                "The base URL takes no query or fragment; Wedge adds /api/v1/query itself.",
            )
        ]
    return []
