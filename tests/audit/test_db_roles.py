"""Two PostgreSQL roles: the owner migrates, the application reads and appends (audit.roles)."""

import os
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections

from audit.roles import (
    OWNER_DB_ALIAS,
    AppendOnlyTable,
    app_role_problems,
    grant_app_privileges,
    grant_statements,
)
from config.env import env_choice, env_owner_database

ROOT = Path(__file__).resolve().parents[2]
APP = settings.DATABASES["default"]["USER"]
with_the_owner = pytest.mark.django_db(databases=["default", OWNER_DB_ALIAS])


def one(sql, params=(), using="default"):
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_tests_connect_as_the_application_role():
    assert one("SELECT current_user") == APP != settings.DATABASES[OWNER_DB_ALIAS]["USER"]
    assert one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False


@pytest.mark.django_db
def test_the_application_role_owns_nothing():
    owned = one(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user)"
    )
    assert owned == 0
    assert (
        one("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditevent'")
        == (settings.DATABASES[OWNER_DB_ALIAS]["USER"])
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "allowed", "refused"),
    [
        ("audit_auditevent", ["SELECT", "INSERT"], ["UPDATE", "DELETE", "TRUNCATE", "TRIGGER"]),
        ("org_user", ["SELECT", "INSERT", "UPDATE", "DELETE"], ["TRUNCATE", "TRIGGER"]),
    ],
)
def test_the_application_role_has_what_it_needs_and_no_more(table, allowed, refused):
    def has(privilege):
        return one("SELECT has_table_privilege(current_user, %s, %s)", [table, privilege])

    assert {p: has(p) for p in allowed + refused} == {
        **{p: True for p in allowed},
        **{p: False for p in refused},
    }


@pytest.mark.django_db
def test_the_application_role_may_draw_audit_ids_but_not_reset_them():
    sequence = one("SELECT pg_get_serial_sequence('audit_auditevent', 'id')")
    assert one("SELECT has_sequence_privilege(current_user, %s, 'USAGE')", [sequence])
    assert not one("SELECT has_sequence_privilege(current_user, %s, 'UPDATE')", [sequence])


@with_the_owner
def test_after_migrate_nothing_is_amiss():
    assert app_role_problems() == []


@with_the_owner
def test_a_privilege_too_many_is_reported_and_the_next_grant_removes_it():
    with connections[OWNER_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, TRUNCATE ON audit_auditevent TO {APP}")
    assert app_role_problems() == [
        "it has UPDATE on audit_auditevent",
        "it has TRUNCATE on audit_auditevent",
    ]
    assert grant_app_privileges() is not None
    assert app_role_problems() == []


@with_the_owner
def test_an_application_role_that_owns_a_table_is_reported():
    with connections[OWNER_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"ALTER TABLE wedges_changeproposal OWNER TO {APP}")
    (problem,) = app_role_problems()
    owned = "2 objects (wedges_changeproposal, wedges_changeproposal_id_seq)"
    assert f"owns, or may act as the owner of, {owned}" in problem
    assert f"REASSIGN OWNED BY {APP} TO <owner>" in problem


@with_the_owner
def test_grant_app_role_prints_what_it_granted():
    out = StringIO()
    call_command("grant_app_role", stdout=out)
    lines = out.getvalue().splitlines()
    assert f'GRANT SELECT, INSERT ON TABLE "public"."audit_auditevent" TO "{APP}"' in lines
    assert app_role_problems() == []


def test_the_grants_quote_names_and_make_the_audit_table_append_only():
    statements = grant_statements(
        app='we"ird',
        owner="owner",
        database="db",
        schema="public",
        append_only=[AppendOnlyTable("audit_auditevent", "public.audit_auditevent_id_seq")],
    )
    assert 'GRANT USAGE ON SCHEMA "public" TO "we""ird"' in statements
    # The blanket grant comes first; the append-only table is then cut back.
    blanket = statements.index(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "we""ird"'
    )
    revoke = statements.index(
        'REVOKE ALL ON TABLE "public"."audit_auditevent" FROM "we""ird", PUBLIC'
    )
    assert blanket < revoke
    assert statements[revoke + 1 :] == [
        'GRANT SELECT, INSERT ON TABLE "public"."audit_auditevent" TO "we""ird"',
        'REVOKE ALL ON SEQUENCE public.audit_auditevent_id_seq FROM "we""ird", PUBLIC',
        'GRANT USAGE ON SEQUENCE public.audit_auditevent_id_seq TO "we""ird"',
    ]
    assert not any("TRUNCATE" in statement and "GRANT" in statement for statement in statements)


@pytest.mark.django_db
def test_manage_py_migrate_runs_as_the_owner_on_a_fresh_database():
    """Production's sequence: an empty database, `migrate`, then the app at work."""
    db = connection.settings_dict
    name = f"{db['NAME']}_fresh"
    server = f"{db['HOST']}:{db['PORT']}"
    owner = settings.DATABASES[OWNER_DB_ALIAS]["USER"]
    admin = psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=owner, dbname="postgres", autocommit=True
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{APP}:{db['PASSWORD']}@{server}/{name}",
        "DATABASE_OWNER_URL": f"postgres://{owner}:postgres@{server}/{name}",
    }
    script = textwrap.dedent(
        """
        from django.db import DatabaseError, connection, transaction
        from audit.codes import EventCode
        from audit.services import record_event
        with transaction.atomic():
            record_event(code=EventCode.PAUSED, proposal_id=1)
        for sql in ("UPDATE audit_auditevent SET reason = 'x'",
                    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER"):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql)
                print("ALLOWED", sql)
            except DatabaseError as exc:
                print("REFUSED", str(exc).strip())
        """
    )

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        migrate = manage("migrate", "--no-input")
        assert migrate.returncode == 0, migrate.stderr
        assert f"Application role {APP}: read and write, append only on the audit" in (
            migrate.stdout
        )
        shell = manage("shell", "-v", "0", "-c", script)
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.splitlines() == [
            "REFUSED permission denied for table audit_auditevent",
            "REFUSED must be owner of table audit_auditevent",
        ]
        verify = manage("verify_audit")
        assert verify.stdout.startswith("Audit chain verified: 1 events."), verify.stderr
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# Settings


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("DATABASE_OWNER_URL", "DATABASE_OWNER_URL_FILE", "X", "X_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


APP_DATABASE = {
    "ENGINE": "django.db.backends.postgresql",
    "HOST": "db.internal",
    "PORT": 5432,
    "NAME": "wedge",
}


def test_no_owner_url_means_one_role(clean_env):
    assert env_owner_database("DATABASE_OWNER_URL", APP_DATABASE) is None


def test_the_owner_url_is_read_like_the_database_url(clean_env):
    clean_env.setenv("DATABASE_OWNER_URL", "postgres://wedge_owner:pw@db.internal:5432/wedge")
    owner = env_owner_database("DATABASE_OWNER_URL", APP_DATABASE)
    assert owner is not None
    assert (owner["USER"], owner["PASSWORD"], owner["NAME"]) == ("wedge_owner", "pw", "wedge")


@pytest.mark.parametrize(
    ("url", "app", "message"),
    [
        (
            "postgres://o@db.internal:5432/other",
            APP_DATABASE,
            "DATABASE_OWNER_URL must name the same database as DATABASE_URL (name differs).",
        ),
        (
            "postgres://o@elsewhere:5432/wedge",
            APP_DATABASE,
            "DATABASE_OWNER_URL must name the same database as DATABASE_URL (host differs).",
        ),
        (
            "postgres://o@db.internal:5432/wedge",
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "/var/wedge.sqlite3"},
            "DATABASE_OWNER_URL is for PostgreSQL: both it and DATABASE_URL must be postgres://",
        ),
        ("mysql://o@db/wedge", APP_DATABASE, "must be a sqlite:// or postgres:// URL"),
    ],
)
def test_an_owner_url_that_does_not_fit_stops_start_up(clean_env, url, app, message):
    clean_env.setenv("DATABASE_OWNER_URL", url)
    with pytest.raises(ImproperlyConfigured) as failure:
        env_owner_database("DATABASE_OWNER_URL", app)
    assert message in str(failure.value)


def test_env_choice_names_the_allowed_values(clean_env):
    assert env_choice("X", "log", {"log", "file"}) == "log"
    clean_env.setenv("X", "file")
    assert env_choice("X", "log", {"log", "file"}) == "file"
    clean_env.setenv("X", "s3")
    with pytest.raises(ImproperlyConfigured, match="X must be one of file, log; got 's3'"):
        env_choice("X", "log", {"log", "file"})


def test_a_webhook_anchor_sink_needs_its_url_and_secret(tmp_path):
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "DEBUG", "WEDGE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        WEDGE_VAR_DIR=str(tmp_path),
        WEDGE_AUDIT_ANCHOR_SINK="webhook",
        WEDGE_AUDIT_ANCHOR_URL="https://anchors.example/in",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEDGE_AUDIT_ANCHOR_SINK=webhook needs WEDGE_AUDIT_ANCHOR_URL and" in result.stderr
