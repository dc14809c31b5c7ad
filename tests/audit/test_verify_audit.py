import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from audit.anchors import record_anchor
from audit.chain import verify_chain
from audit.codes import EventCode
from audit.hashing import GENESIS_HASH, compute_hash
from audit.models import AuditEvent
from audit.roles import OWNER_DB_ALIAS, default_connection_as

ROOT = Path(__file__).resolve().parents[2]

# Tampering is done as the table's owner: the application role cannot
# (tests/audit/test_append_only.py). Either the whole test runs on the owner's
# connection, inside the test's transaction (quick), or, as it would really
# happen, the application writes and commits, the owner rewrites in a session
# of its own and the application verifies.
app_then_owner = pytest.mark.django_db(transaction=True, databases=["default", OWNER_DB_ALIAS])


@pytest.fixture
def owner_session():
    with default_connection_as(OWNER_DB_ALIAS):
        yield


def as_the_owner(test):
    """The whole test on the owner's connection: write, tamper, verify."""
    marks = (
        pytest.mark.django_db(databases=["default", OWNER_DB_ALIAS]),
        pytest.mark.usefixtures("owner_session"),
    )
    for mark in marks:
        test = mark(test)
    return test


def chain(record, count=4):
    return [
        record(code=EventCode.STAGE_ADVANCED, proposal_id=1, stage_id=f"s{n}", reason=f"step {n}")
        for n in range(count)
    ]


def behind_the_triggers(sql, params=()):
    """Change the table as its owner could: the append-only trigger ignored."""
    with (
        pgtrigger.ignore("audit.AuditEvent:append_only"),
        connections[OWNER_DB_ALIAS].cursor() as cursor,
    ):
        cursor.execute(sql, params)


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


@as_the_owner
def test_a_row_edited_behind_the_triggers_is_caught(record):
    events = chain(record)
    behind_the_triggers(
        "UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[2].id]
    )
    code, out = verify_audit()
    assert code == 1
    assert f"event id={events[2].id} (RWG-001): row altered, stored hash {events[2].hash}" in out
    assert "after 2 sound events" in out


@as_the_owner
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


@as_the_owner
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


@app_then_owner
def test_verify_audit_exits_1_naming_the_tampered_row(record):
    """The real command in its own process, as an auditor would run it (the app role)."""
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


@as_the_owner
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


# Anchors: heads recorded outside the database (audit.anchors).


@pytest.fixture
def anchors_file(settings, tmp_path):
    settings.WEDGE_AUDIT_ANCHOR_SINK = "file"
    settings.WEDGE_AUDIT_ANCHOR_FILE = tmp_path / "anchors.jsonl"
    return settings.WEDGE_AUDIT_ANCHOR_FILE


def rewrite_from(event_id, reason):
    """Edit one row and recompute its hash and every later one, as the owner could.

    What is left links up from the genesis row to the head: recomputing the
    chain alone cannot tell it from the original.
    """
    rows = list(AuditEvent.objects.using(OWNER_DB_ALIAS).filter(id__gte=event_id).order_by("id"))
    previous = rows[0].prev_hash
    for row in rows:
        values = row.hashed_values() | {"prev_hash": previous}
        if row.id == event_id:
            values["reason"] = reason
        new_hash = compute_hash(values)
        behind_the_triggers(
            "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [values["reason"], previous, new_hash, row.id],
        )
        previous = new_hash


def verify_audit_with(anchors):
    out = StringIO()
    try:
        call_command("verify_audit", anchors=str(anchors), stdout=out)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


@app_then_owner
def test_a_rewrite_with_every_later_hash_recomputed_is_caught_only_by_the_anchors(
    record, anchors_file
):
    events = chain(record, count=2)
    first = record_anchor()
    events += chain(record, count=3)
    second = record_anchor()
    assert (first.id, second.id) == (events[1].id, events[-1].id)

    rewrite_from(events[1].id, "nothing to see")

    code, out = verify_audit()
    assert (code, out.split(":")[0]) == (0, "Audit chain verified")
    assert "5 events" in out
    code, out = verify_audit_with(anchors_file)
    assert code == 1
    assert "Audit chain links up for 5 events, but 2 of 2 anchors do not match it" in out
    for line, anchor in enumerate((first, second), start=1):
        assert f"anchor id={anchor.id} hash={anchor.hash} recorded at " in out
        assert f"(line {line}): event id={anchor.id} now has hash " in out
    assert "rewritten at or before this event" in out


@as_the_owner
def test_an_anchor_whose_event_is_gone_names_it(record, anchors_file):
    events = chain(record, count=3)
    anchor = record_anchor()
    behind_the_triggers("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].id])
    code, out = verify_audit_with(anchors_file)
    assert code == 1
    assert f"anchor id={anchor.id} hash={anchor.hash}" in out
    assert f"event id={anchor.id} is not in the chain" in out


@pytest.mark.django_db
def test_anchors_of_an_untouched_chain_all_match(record, anchors_file):
    chain(record, count=2)
    record_anchor()
    record_anchor()  # the same head twice is fine
    events = chain(record, count=2)
    record_anchor()
    code, out = verify_audit_with(anchors_file)
    assert code == 0
    assert out == (
        f"Audit chain verified: 4 events. Head hash: {events[-1].hash}\n"
        "Anchors: all 3 match the chain.\n"
    )


@pytest.mark.django_db
def test_a_damaged_anchors_file_is_refused_naming_the_line(record, anchors_file):
    chain(record, count=1)
    record_anchor()
    with anchors_file.open("a") as file:
        file.write('{"id": 1, "hash": "not a hash", "recorded_at": "2026-11-28T09:30:00+00:00"}\n')
    code, out = verify_audit_with(anchors_file)
    assert code == 2
    assert out == 'Anchors file, line 2: "hash" must be 64 lower-case hex digits.'


@pytest.mark.django_db
def test_a_missing_anchors_file_is_refused(tmp_path):
    code, out = verify_audit_with(tmp_path / "nowhere.jsonl")
    assert code == 2
    assert "Cannot read the anchors file" in out
