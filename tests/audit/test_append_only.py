import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from audit.codes import EventCode
from audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def event(record):
    return record(code=EventCode.STAGE_ADVANCED, proposal_id=1, stage_id="canary", reason="ok")


def refused(sql: str) -> str:
    """Run ``sql`` in a savepoint and return the database's error message."""
    with (
        pytest.raises(DatabaseError) as failure,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    return str(failure.value)


@pytest.mark.django_db
def test_raw_update_is_refused_by_postgresql(event):
    message = refused(f"UPDATE audit_auditevent SET reason = 'edited' WHERE id = {event.id}")
    assert "Cannot update or delete rows from audit_auditevent" in message
    assert AuditEvent.objects.get(pk=event.pk).reason == "ok"


@pytest.mark.django_db
def test_raw_delete_is_refused_by_postgresql(event):
    message = refused(f"DELETE FROM audit_auditevent WHERE id = {event.id}")
    assert "Cannot update or delete rows from audit_auditevent" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_raw_truncate_is_refused_by_postgresql(event):
    # Run the deferred foreign-key checks of the insert first: PostgreSQL will
    # not even consider a TRUNCATE while they are pending.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = refused("TRUNCATE audit_auditevent CASCADE")
    assert "append-only: TRUNCATE refused" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


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
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.exclude(code="WDG-302").count() == 1


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
