"""Two PostgreSQL roles: the owner migrates, the application only reads and writes.

The append-only triggers stop honest mistakes; they cannot stop the role that
owns the table, which may ``ALTER TABLE … DISABLE TRIGGER``, and a superuser
may ``SET session_replication_role = replica``. So on PostgreSQL the
application connects (``DATABASE_URL``) as a role that owns nothing and is no
superuser, and ``migrate`` runs as the owner (``DATABASE_OWNER_URL``, the
``owner`` alias). After migrating, the owner grants the application role:

* on every table of the schema: SELECT, INSERT, UPDATE, DELETE (never
  TRUNCATE, REFERENCES or TRIGGER), now and, through default privileges, on
  tables later migrations create;
* on the append-only tables: SELECT and INSERT only, and USAGE on their id
  sequence (``record_event`` draws the id itself, because it is hashed).

Every statement is idempotent, so each ``migrate`` restores the intended set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

OWNER_DB_ALIAS: Final = "owner"

# Models whose tables the application may only read and append to.
APPEND_ONLY_MODELS: Final = ("audit.AuditEvent",)

_READ_WRITE: Final = "SELECT, INSERT, UPDATE, DELETE"
_REFUSED_ON_APPEND_ONLY: Final = ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


class AppRoleError(RuntimeError):
    """The application role could not be given, or does not have, its intended privileges."""


@dataclass(frozen=True)
class AppendOnlyTable:
    table: str
    sequence: str | None  # the id column's sequence, schema-qualified


@dataclass(frozen=True)
class Grants:
    app_role: str
    owner_role: str
    statements: tuple[str, ...]


def app_role() -> str:
    """The role the application connects as (``DATABASE_URL``'s user)."""
    return str(settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") or "")


def owner_configured() -> bool:
    return OWNER_DB_ALIAS in settings.DATABASES


@contextmanager
def default_connection_as(alias: str) -> Iterator[None]:
    """Route the default alias to ``alias``'s connection, in this thread, for the duration.

    ``migrate`` runs on the owner's connection, but migration code and
    post-migrate handlers that use the default manager (``Model.objects``)
    would otherwise query through the application role, in a transaction of
    their own that cannot see the schema change in progress (and would wait
    on its locks).
    """
    if alias == DEFAULT_DB_ALIAS:
        yield
        return
    application = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = connections[alias]
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = application


def create_login_role(cursor: CursorWrapper, name: str, password: str | None) -> bool:
    """Create a LOGIN role (no superuser, no CREATEDB, no CREATEROLE) unless it exists.

    Returns whether it was created. Runs in autocommit (roles belong to the
    cluster, not to one database or transaction). Two sessions creating the
    same role at once is not an error.
    """
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    if cursor.fetchone():
        return False
    statement = f"CREATE ROLE {cursor.db.ops.quote_name(name)} LOGIN"
    try:
        if password:
            cursor.execute(statement + " PASSWORD %s", [password])
        else:
            cursor.execute(statement)
    except DatabaseError as exc:
        # 42710 duplicate_object; 23505 when a concurrent CREATE ROLE won the race.
        if getattr(exc.__cause__, "sqlstate", None) in {"42710", "23505"}:
            return False
        raise
    return True


def append_only_tables(connection: BaseDatabaseWrapper) -> list[AppendOnlyTable]:
    tables = []
    with connection.cursor() as cursor:
        for label in APPEND_ONLY_MODELS:
            model = apps.get_model(label)
            table = model._meta.db_table
            pk = model._meta.pk
            assert pk is not None
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
            row = cursor.fetchone()
            tables.append(AppendOnlyTable(table, row[0] if row else None))
    return tables


def grant_statements(
    *,
    app: str,
    owner: str,
    database: str,
    schema: str,
    append_only: list[AppendOnlyTable],
) -> list[str]:
    """The statements that give ``app`` exactly its privileges (pure; see the module doc)."""

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    app_q, owner_q, schema_q = q(app), q(owner), q(schema)
    statements = [
        f"GRANT CONNECT ON DATABASE {q(database)} TO {app_q}",
        f"GRANT USAGE ON SCHEMA {schema_q} TO {app_q}",
        f"REVOKE CREATE ON SCHEMA {schema_q} FROM {app_q}",
        f"GRANT {_READ_WRITE} ON ALL TABLES IN SCHEMA {schema_q} TO {app_q}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {app_q}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA {schema_q}"
        f" GRANT {_READ_WRITE} ON TABLES TO {app_q}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA {schema_q}"
        f" GRANT USAGE, SELECT ON SEQUENCES TO {app_q}",
    ]
    for item in append_only:
        table = f"{schema_q}.{q(item.table)}"
        statements += [
            f"REVOKE ALL ON TABLE {table} FROM {app_q}, PUBLIC",
            f"GRANT SELECT, INSERT ON TABLE {table} TO {app_q}",
        ]
        if item.sequence:
            # Already quoted and qualified by pg_get_serial_sequence.
            statements += [
                f"REVOKE ALL ON SEQUENCE {item.sequence} FROM {app_q}, PUBLIC",
                f"GRANT USAGE ON SEQUENCE {item.sequence} TO {app_q}",
            ]
    return statements


def grant_app_privileges(*, using: str = OWNER_DB_ALIAS) -> Grants | None:
    """As the owner, grant the application role its privileges, then check them.

    Returns None when there is nothing to grant: not PostgreSQL, or the
    application connects as the owner itself. Raises :class:`AppRoleError`
    when the role is missing or still more powerful than intended.
    """
    connection = connections[using]
    app = app_role()
    if connection.vendor != "postgresql" or not app:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        row = cursor.fetchone()
        assert row is not None
        owner, database, schema = row
        if app == owner:
            return None
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app])
        if cursor.fetchone() is None:
            raise AppRoleError(
                f"The application role {app!r} (DATABASE_URL) does not exist. Create it "
                f"(CREATE ROLE {app} LOGIN PASSWORD '…', or `manage.py grant_app_role "
                "--create-role`) and migrate again."
            )
    statements = grant_statements(
        app=app,
        owner=owner,
        database=database,
        schema=schema,
        append_only=append_only_tables(connection),
    )
    # One transaction: the application role never holds, even briefly, the
    # UPDATE that the blanket grant gives and the append-only revoke removes.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    problems = app_role_problems(using=using)
    if problems:
        raise AppRoleError(
            f"The application role {app!r} is more powerful than it should be: "
            + "; ".join(problems)
        )
    return Grants(app, owner, tuple(statements))


def app_role_problems(*, using: str = OWNER_DB_ALIAS) -> list[str]:
    """What would let the application role change or bypass the append-only tables."""
    connection = connections[using]
    app = app_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app])
        row = cursor.fetchone()
        if row is None:
            return [f"role {app!r} does not exist"]
        if row[0]:
            # A superuser passes every check below; say only what matters.
            return ["it is a superuser (it can disable triggers and set session_replication_role)"]
        problems = []
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = current_schema()"
            " AND pg_has_role(%s, nspowner, 'USAGE')",
            [app],
        )
        if cursor.fetchone():
            problems.append(
                "it owns the schema (directly, or as the owner of the database), so it can "
                "drop any table in it"
            )
        # Owning a table lets a role disable its triggers; owning a trigger
        # function lets it replace the function's body.
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S', 'v', 'm')"
            " AND pg_has_role(%s, c.relowner, 'USAGE')"
            " UNION ALL"
            " SELECT p.proname || '()' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND pg_has_role(%s, p.proowner, 'USAGE')"
            " ORDER BY 1",
            [app, app],
        )
        owned = [name for (name,) in cursor.fetchall()]
        if owned:
            listed = ", ".join(owned[:5]) + (", …" if len(owned) > 5 else "")
            problems.append(
                f"it owns, or may act as the owner of, {len(owned)} objects ({listed}): "
                f"move them with REASSIGN OWNED BY {app} TO <owner> and do not make it a "
                "member of the owner role"
            )
        for item in append_only_tables(connection):
            for privilege in _REFUSED_ON_APPEND_ONLY:
                cursor.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [app, item.table, privilege]
                )
                allowed = cursor.fetchone()
                if allowed and allowed[0]:
                    problems.append(f"it has {privilege} on {item.table}")
    return problems
