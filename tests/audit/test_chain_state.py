"""The audit page's chain state: verified incrementally from a checkpoint, never re-hashed
whole on a page view; the full check (beat, verify_audit) resets the checkpoint."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from audit import checkpoint
from audit.chain import verify_chain
from audit.checkpoint import chain_state, full_check
from audit.codes import EventCode
from audit.hashing import GENESIS_HASH
from tests.audit.test_verify_audit import (  # noqa: F401 (owner_session: a fixture)
    as_the_owner,
    behind_the_triggers,
    chain,
    owner_session,
)

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_checkpoint() -> None:
    cache.delete(checkpoint._key())


@pytest.mark.django_db
def test_an_empty_chain_has_nothing_verified():
    state = chain_state(now=NOW)
    assert state.ok
    assert state.verified_through is None
    assert state.head_hash == GENESIS_HASH
    assert state.unverified == 0


@pytest.mark.django_db
def test_a_page_view_verifies_only_its_budget_and_the_next_one_goes_on(record):
    events = chain(record, count=5)
    state = chain_state(budget=2, now=NOW)
    assert (state.verified_through, state.head_hash) == (events[1].id, events[1].hash)
    assert state.unverified == 3
    state = chain_state(budget=2, now=NOW)
    assert (state.verified_through, state.unverified) == (events[3].id, 1)
    state = chain_state(now=NOW)
    assert (state.verified_through, state.head_hash) == (events[-1].id, events[-1].hash)
    assert state.unverified == 0
    assert state.ok


@pytest.mark.django_db
def test_a_page_view_reads_only_the_rows_since_the_checkpoint(record, django_assert_num_queries):
    chain(record, count=30)
    chain_state(now=NOW)
    record(code=EventCode.PAUSED, proposal_id=1)
    # The checkpoint's row, the one row since, the count of what is left.
    with django_assert_num_queries(3):
        state = chain_state(now=NOW)
    assert state.unverified == 0


@as_the_owner
def test_a_row_altered_after_the_checkpoint_is_caught(record):
    events = chain(record, count=4)
    chain_state(budget=2, now=NOW)
    behind_the_triggers(
        "UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[3].id]
    )
    state = chain_state(now=NOW)
    assert not state.ok
    assert state.broken is not None
    assert (state.broken.id, state.broken.problem) == (events[3].id, "hash")
    assert state.verified_through == events[2].id
    # It stays broken on later views, without re-reading the rows.
    assert chain_state(now=NOW).broken == state.broken


@as_the_owner
def test_the_full_check_catches_what_happened_before_the_checkpoint(record):
    events = chain(record, count=4)
    assert chain_state(now=NOW).ok
    behind_the_triggers(
        "UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[1].id]
    )
    report = full_check(now=NOW)
    assert report.broken is not None
    state = chain_state(now=NOW)
    assert state.broken is not None
    assert state.broken.id == events[1].id
    assert state.full_check_at == NOW


@pytest.mark.django_db
def test_a_checkpoint_of_another_database_state_starts_over(record):
    events = chain(record, count=3)
    cache.set(checkpoint._key(), {"id": 999_999, "hash": "f" * 64, "broken": None})
    state = chain_state(now=NOW)
    assert state.ok
    assert state.verified_through == events[-1].id


@pytest.mark.django_db
def test_verify_audit_resets_the_page_s_checkpoint(record):
    events = chain(record, count=3)
    call_command("verify_audit", stdout=StringIO())
    state = chain_state(budget=0, now=NOW)
    assert state.verified_through == events[-1].id
    assert state.full_check_at is not None
    assert verify_chain().head == state.head_hash


@pytest.mark.django_db
def test_the_page_says_how_far_the_chain_is_verified(client, demo, record):
    events = chain(record, count=2)
    client.force_login(demo["erin"])
    page = client.get("/audit/").content.decode()
    head = events[-1]
    assert f"<strong>Chain verified through event #{head.id}</strong>, head hash" in page
    assert f'title="{head.hash}">{head.hash[:12]}…{head.hash[-8:]}</span>' in page
