import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.chain import verify_chain
from audit.codes import EventCode
from audit.hashing import GENESIS_HASH, compute_hash

ROOT = Path(__file__).resolve().parents[2]


def chain(record, count=4):
    return [
        record(code=EventCode.STAGE_ADVANCED, proposal_id=1, stage_id=f"s{n}", reason=f"step {n}")
        for n in range(count)
    ]


def behind_the_triggers(sql, params=()):
    """Change the table as a database superuser could: triggers off, edit, triggers on."""
    with connection.cursor() as cursor:
        # Pending deferred foreign-key checks would block the ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER ALL")


def verify_audit():
    """Run the command; returns (exit code, output)."""
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_an_empty_trail_verifies():
    assert verify_audit() == (0, f"Audit chain verified: 0 events. Head hash: {GENESIS_HASH}\n")


@pytest.mark.django_db
def test_an_intact_chain_verifies_with_its_count(record):
    events = chain(record)
    code, out = verify_audit()
    assert code == 0
    assert out == f"Audit chain verified: 4 events. Head hash: {events[-1].hash}\n"


@pytest.mark.django_db
def test_a_row_edited_behind_the_triggers_is_caught(record):
    events = chain(record)
    behind_the_triggers(
        "UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[2].id]
    )
    code, out = verify_audit()
    assert code == 1
    assert f"event id={events[2].id} (RWG-001): row altered, stored hash {events[2].hash}" in out
    assert "after 2 sound events" in out


@pytest.mark.django_db
def test_a_row_edited_and_rehashed_breaks_the_next_link(record):
    events = chain(record)
    forged = events[1].hashed_values() | {"reason": "forged"}
    behind_the_triggers(
        "UPDATE audit_auditevent SET reason = 'forged', hash = %s WHERE id = %s",
        [compute_hash(forged), events[1].id],
    )
    report = verify_chain()
    assert report.broken is not None
    assert (report.broken.id, report.broken.problem, report.verified) == (
        events[2].id,
        "prev_hash",
        2,
    )
    assert report.broken.stored == events[1].hash


@pytest.mark.django_db
def test_a_deleted_row_is_caught(record):
    events = chain(record)
    behind_the_triggers("DELETE FROM audit_auditevent WHERE id = %s", [events[1].id])
    code, out = verify_audit()
    assert code == 1
    assert f"event id={events[2].id} (RWG-001): link broken" in out


@pytest.mark.django_db
def test_verification_streams_in_chunks(record):
    events = chain(record, count=7)
    report = verify_chain(chunk_size=2)
    assert (report.ok, report.verified, report.head) == (True, 7, events[-1].hash)


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exits_1_naming_the_tampered_row(record):
    """The real command in its own process, as an auditor would run it."""
    events = chain(record, count=3)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }

    def run():
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    clean = run()
    assert (clean.returncode, clean.stdout.split(":")[0]) == (0, "Audit chain verified")
    assert "3 events" in clean.stdout
    behind_the_triggers(
        "UPDATE audit_auditevent SET target_percentage = 50 WHERE id = %s", [events[1].id]
    )
    tampered = run()
    assert tampered.returncode == 1
    assert f"event id={events[1].id}" in tampered.stderr
    assert "row altered" in tampered.stderr


@pytest.mark.django_db
def test_an_anchor_catches_events_removed_from_the_end(record):
    events = chain(record)
    anchor = events[-1].hash
    out = StringIO()
    call_command("verify_audit", anchor=anchor, stdout=out)
    assert out.getvalue().startswith("Audit chain verified: 4 events.")
    # The newest event removed: what is left is a sound, shorter chain...
    behind_the_triggers("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].id])
    assert verify_audit()[0] == 0
    # ...that no longer contains the head recorded earlier.
    with pytest.raises(CommandError, match=r"anchor \w+ is not in it") as failure:
        call_command("verify_audit", anchor=anchor)
    assert failure.value.returncode == 1
    assert verify_chain(anchor=events[1].hash).anchor_found is True
