"""Typed readers for environment variables that fail loudly.

Every helper raises ``ImproperlyConfigured`` naming the variable, so a typo in
a deployment surfaces at start-up instead of as odd behaviour later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    """The variable's value, or the contents of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r}: {exc}") from exc
    return None


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {value!r}.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} must be one of {allowed}; got {value!r}.")
    return value


_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


def env_database(name: str, default: str) -> dict[str, Any]:
    """Parse a SQLite or PostgreSQL URL into a Django ``DATABASES`` entry."""
    url = _raw(name) or default
    scheme = urlsplit(url).scheme
    if scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:// or postgres:// URL, got scheme {scheme or 'none'!r}."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from exc
    if scheme == "sqlite":
        if not config.get("NAME"):
            raise ImproperlyConfigured(
                f"{name} must name a database file, e.g. sqlite:///var/db.sqlite3."
            )
        config["CONN_MAX_AGE"] = 0
        # WAL lets web, worker and beat read while one of them writes;
        # IMMEDIATE takes the write lock at BEGIN so writers queue on the busy
        # timeout instead of failing with "database is locked" mid-transaction.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    else:
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/wedge.")
        config["CONN_HEALTH_CHECKS"] = True
        # No JIT compilation: it pays off for long analytical scans, while
        # Wedge's statements take a millisecond or less, and a plan whose
        # estimate crosses jit_above_cost spends tens of milliseconds compiling
        # (it did, inside the rollback's transaction). A URL's own
        # ?options= comes first and is kept.
        options = config.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return config


def env_owner_database(
    name: str, app: Mapping[str, Any], *, app_name: str = "DATABASE_URL"
) -> dict[str, Any] | None:
    """The schema owner's connection to the application's database; None when unset.

    The owner runs migrations; the application connects as a role that does
    not own the tables. Both must name the same PostgreSQL database, or the
    migrations would change one database while the application uses another.
    """
    if not _raw(name):
        return None
    config = env_database(name, "")
    postgres = "django.db.backends.postgresql"
    if config["ENGINE"] != postgres or app["ENGINE"] != postgres:
        raise ImproperlyConfigured(
            f"{name} is for PostgreSQL: both it and {app_name} must be postgres:// URLs."
        )
    for key in ("HOST", "PORT", "NAME"):
        if str(config.get(key) or "") != str(app.get(key) or ""):
            raise ImproperlyConfigured(
                f"{name} must name the same database as {app_name} ({key.lower()} differs)."
            )
    return config


def env_url(name: str, *, schemes: set[str]) -> str | None:
    """An optional URL whose scheme must be one of ``schemes``; None when unset."""
    url = _raw(name)
    if not url:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name} must use one of the schemes {allowed}; got {url!r}.")
    return url
