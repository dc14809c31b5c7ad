import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pgtrigger
import pytest
from django.db import DatabaseError, connection, connections, transaction

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.roles import OWNER_DB_ALIAS, default_connection_as

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def event(record):
    return record(code=EventCode.STAGE_ADVANCED, proposal_id=1, stage_id="canary", reason="ok")


def refused(sql: str, using: str = "default") -> str:
    """Run ``sql`` in a savepoint and return the database's error message."""
    with (
        pytest.raises(DatabaseError) as failure,
        transaction.atomic(using=using),
        connections[using].cursor() as cursor,
    ):
        cursor.execute(sql)
    return str(failure.value)


# The application role (the tests' default connection, as in production):
# PostgreSQL refuses it by privilege, before any trigger runs.


@pytest.mark.django_db
def test_the_application_role_may_not_update(event):
    message = refused(f"UPDATE audit_auditevent SET reason = 'edited' WHERE id = {event.id}")
    assert "permission denied for table audit_auditevent" in message
    assert AuditEvent.objects.get(pk=event.pk).reason == "ok"


@pytest.mark.django_db
def test_the_application_role_may_not_delete(event):
    message = refused(f"DELETE FROM audit_auditevent WHERE id = {event.id}")
    assert "permission denied for table audit_auditevent" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_the_application_role_may_not_truncate(event):
    message = refused("TRUNCATE audit_auditevent CASCADE")
    assert "permission denied for table audit_auditevent" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["ALL", "USER", "pgtrigger_append_only_00dfa"])
def test_the_application_role_may_not_disable_the_triggers(event, which):
    message = refused(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {which}")
    assert "must be owner of table audit_auditevent" in message


@pytest.mark.django_db
def test_the_application_role_may_not_set_session_replication_role(event):
    # "replica" would skip every ordinary trigger for the session.
    message = refused("SET session_replication_role = replica")
    assert 'permission denied to set parameter "session_replication_role"' in message
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)


@pytest.mark.django_db
def test_the_application_role_may_not_drop_or_replace_the_trigger(event):
    assert "must be owner" in refused(
        "DROP TRIGGER pgtrigger_append_only_00dfa ON audit_auditevent"
    )
    # It may not create anything in the schema, so not even a function to swap in.
    assert "permission denied for schema public" in refused(
        "CREATE OR REPLACE FUNCTION pgtrigger_append_only_00dfa() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
    )


@pytest.mark.django_db
def test_ignoring_the_triggers_does_not_help_the_application_role(event):
    """pgtrigger's ignore is a session setting anyone may set: the privilege is what holds."""
    with pgtrigger.ignore("audit.AuditEvent:append_only", "audit.AuditEvent:protect_truncate"):
        message = refused(f"UPDATE audit_auditevent SET reason = 'edited' WHERE id = {event.id}")
    assert "permission denied for table audit_auditevent" in message
    assert AuditEvent.objects.get(pk=event.pk).reason == "ok"


@pytest.mark.django_db
def test_the_orm_cannot_update_or_delete_either(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == "ok"


@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_outside_a_test_transaction_too(event):
    # Autocommit, as a psql session would do it.
    with pytest.raises(DatabaseError, match="permission denied"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.exclude(code="WDG-302").count() == 1


# The owner: it could disable them, but the triggers still refuse it by default.


@pytest.fixture
def owned_event(record):
    """An event written through the owner's connection, so the owner sees it uncommitted."""
    with default_connection_as(OWNER_DB_ALIAS):
        return record(code=EventCode.STAGE_ADVANCED, proposal_id=1, reason="ok")


@pytest.mark.django_db(databases=["default", OWNER_DB_ALIAS])
def test_the_triggers_refuse_update_and_delete_even_to_the_owner(owned_event):
    where = f"WHERE id = {owned_event.id}"
    for sql in (
        f"UPDATE audit_auditevent SET reason = 'edited' {where}",
        f"DELETE FROM audit_auditevent {where}",
    ):
        message = refused(sql, using=OWNER_DB_ALIAS)
        assert "Cannot update or delete rows from audit_auditevent" in message
    assert AuditEvent.objects.using(OWNER_DB_ALIAS).get(pk=owned_event.pk).reason == "ok"


@pytest.mark.django_db(databases=["default", OWNER_DB_ALIAS])
def test_the_trigger_refuses_truncate_even_to_the_owner(owned_event):
    # Run the deferred foreign-key checks of the insert first: PostgreSQL will
    # not even consider a TRUNCATE while they are pending.
    with connections[OWNER_DB_ALIAS].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = refused("TRUNCATE audit_auditevent CASCADE", using=OWNER_DB_ALIAS)
    assert "append-only: TRUNCATE refused" in message


def test_sqlite_refuses_update_and_delete(tmp_path):
    """The embedded default: migrate a fresh SQLite file, then try to edit the log."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wedge.sqlite3'}",
        "WEDGE_VAR_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    script = textwrap.dedent(
        """
        from django.db import IntegrityError, connection, transaction
        from audit.chain import verify_chain
        from audit.codes import EventCode
        from audit.services import record_event
        for n in range(3):
            with transaction.atomic():
                record_event(code=EventCode.PAUSED, proposal_id=n + 1)
        for sql in ("UPDATE audit_auditevent SET reason = 'x'",
                    "DELETE FROM audit_auditevent WHERE id = 2",
                    "DELETE FROM audit_auditevent"):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql)
                print("ALLOWED", sql)
            except IntegrityError as exc:
                print("REFUSED", exc)
        report = verify_chain()
        print("VERIFIED", report.ok, report.verified)
        """
    )
    run = [sys.executable, "manage.py"]
    migrate = subprocess.run(
        [*run, "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    shell = subprocess.run(
        [*run, "shell", "-v", "0", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert shell.returncode == 0, shell.stderr
    lines = shell.stdout.splitlines()
    assert lines == [
        "REFUSED audit_auditevent is append-only: UPDATE refused",
        "REFUSED audit_auditevent is append-only: DELETE refused",
        "REFUSED audit_auditevent is append-only: DELETE refused",
        "VERIFIED True 3",
    ]
