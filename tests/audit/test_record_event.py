import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from audit.chain import verify_chain
from audit.codes import EventCode
from audit.hashing import GENESIS_HASH
from audit.models import AuditEvent
from audit.services import AuditTransactionRequired, record_event


@pytest.mark.django_db
def test_events_are_chained_from_the_genesis_hash(record, demo):
    first = record(code=EventCode.PROPOSAL_SUBMITTED, actor=demo["alice"], proposal_id=1)
    second = record(code=EventCode.WEDGE_STARTED, actor=demo["dave"], proposal_id=1)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.id > first.id
    assert len(first.hash) == 64
    assert verify_chain().verified == 2


@pytest.mark.django_db
def test_stored_row_hashes_to_its_hash_after_the_database_round_trip(record):
    event = record(
        code=EventCode.STAGE_ADVANCED,
        proposal_id=3,
        stage_id="canary",
        target_percentage=12.5,
        # Values jsonb does not give back as they went in.
        metrics={"big": 1e16, "neg_zero": -0.0, "sum": 0.1 + 0.2, "p99": "180ms", "n": 7},
        data={"nested": {"b": [1, 2.5, None, True]}, "unicode": "Ünïcødé ✓"},
        reason="criteria met: error_rate < 0.01",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.target_percentage == Decimal("12.50")
    assert stored.compute_hash() == stored.hash == event.hash


@pytest.mark.django_db
def test_labels_default_to_the_username_or_system(record, demo):
    assert record(code=EventCode.WEDGE_STARTED, actor=demo["dave"]).actor_label == "dave"
    system = record(code=EventCode.PAUSED)
    assert (system.actor, system.actor_label) == (None, "system")


@pytest.mark.django_db
def test_values_are_normalised_to_what_is_stored(record):
    event = record(
        code=EventCode.STAGE_ADVANCED,
        target_percentage="33.335",
        metrics={"rate": Decimal("0.25"), 1: "int key"},
        data={"when": dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)},
        occurred_at=dt.datetime(2026, 11, 28, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert event.target_percentage == Decimal("33.34")
    assert event.metrics == {"rate": 0.25, "1": "int key"}
    assert event.data == {"when": "2026-11-28T09:30:00+00:00"}
    assert event.occurred_at == dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
    assert event.occurred_at.tzinfo == dt.UTC


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"code": "RWG-999"}, ValueError),
        ({"code": EventCode.PAUSED, "target_percentage": 101}, ValueError),
        ({"code": EventCode.PAUSED, "target_percentage": "lots"}, ValueError),
        ({"code": EventCode.PAUSED, "metrics": {"x": float("inf")}}, ValueError),
        ({"code": EventCode.PAUSED, "data": {"x": object()}}, TypeError),
        ({"code": EventCode.PAUSED, "occurred_at": dt.datetime(2026, 11, 28)}, ValueError),
    ],
)
def test_bad_values_are_refused_before_anything_is_written(record, kwargs, error):
    with pytest.raises(error):
        record(**kwargs)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_raises():
    with pytest.raises(AuditTransactionRequired, match=r"transaction\.atomic"):
        record_event(code=EventCode.PAUSED)
    assert not AuditEvent.objects.exists()


class Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_an_event_in_a_transaction_that_rolls_back_leaves_no_row(record):
    kept = record(code=EventCode.WEDGE_STARTED, proposal_id=1)

    def change_that_fails() -> None:
        with transaction.atomic():
            record_event(code=EventCode.ROLLED_BACK, proposal_id=1, reason="never happened")
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()
    assert list(AuditEvent.objects.values_list("id", flat=True)) == [kept.id]
    # The chain continues from the last committed row, not the rolled-back one.
    after = record(code=EventCode.PAUSED, proposal_id=1)
    assert after.prev_hash == kept.hash
    report = verify_chain()
    assert (report.ok, report.verified) == (True, 2)
