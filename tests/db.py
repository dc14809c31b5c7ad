"""Database helpers for tests: the statements a test captured, and the owner's
connection for the few tests that change the schema.

Tests connect as the application role, which owns no table and may create
none (see ``audit.roles``); a test that adds a column or a table does it as
the owner, outside the test's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def owner_connection() -> Iterator[Any]:
    """A fresh connection as the owner (the default alias's role where there is only one)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from audit.roles import OWNER_DB_ALIAS

    alias = OWNER_DB_ALIAS if OWNER_DB_ALIAS in connections else DEFAULT_DB_ALIAS
    # Under the default alias, so code that routes by alias (``using(...)``)
    # writes through the test's own connection; only this object is the owner.
    owner = type(connections[DEFAULT_DB_ALIAS])(connections.settings[alias], alias=DEFAULT_DB_ALIAS)
    try:
        yield owner
    finally:
        owner.close()


def statements(queries: Any) -> list[str]:
    """The SQL of a ``CaptureQueriesContext``, without the savepoints atomic blocks add."""
    return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
