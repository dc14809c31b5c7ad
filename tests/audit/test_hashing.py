import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from audit.codes import EventCode, describe
from audit.hashing import GENESIS_HASH, HASHED_FIELDS, canonical_bytes, compute_hash


def row(**overrides):
    values = {
        "id": 1,
        "occurred_at": dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC),
        "code": "RWG-001",
        "proposal_id": 4,
        "waiver_id": None,
        "stage_id": "canary",
        "target_percentage": Decimal("5.00"),
        "actor_id": None,
        "actor_label": "system",
        "metrics": {"p99": "180ms", "error_rate": 0.004},
        "reason": "",
        "data": {},
        "prev_hash": GENESIS_HASH,
    }
    return {**values, **overrides}


def test_canonical_serialisation_is_sorted_compact_utf8_json():
    body = canonical_bytes(row(reason="café"))
    assert (
        body
        == (
            '{"actor_id":null,"actor_label":"system","code":"RWG-001","data":{},'
            '"id":1,"metrics":{"error_rate":0.004,"p99":"180ms"},'
            '"occurred_at":"2026-11-28T09:30:00.000000+00:00","prev_hash":"' + GENESIS_HASH + '",'
            '"proposal_id":4,"reason":"café","stage_id":"canary","target_percentage":5,'
            '"waiver_id":null}'
        ).encode()
    )
    assert compute_hash(row(reason="café")) == hashlib.sha256(body).hexdigest()


def test_every_column_but_the_hash_is_hashed():
    assert set(HASHED_FIELDS) == {
        "id", "occurred_at", "code", "proposal_id", "waiver_id", "stage_id",
        "target_percentage", "actor_id", "actor_label", "metrics", "reason", "data", "prev_hash",
    }  # fmt: skip
    base = compute_hash(row())
    for name, other in [
        ("id", 2),
        ("occurred_at", dt.datetime(2026, 11, 28, 9, 30, 0, 1, tzinfo=dt.UTC)),
        ("code", "RWG-003"),
        ("proposal_id", 5),
        ("waiver_id", 1),
        ("stage_id", "canary2"),
        ("target_percentage", Decimal("5.01")),
        ("actor_id", 3),
        ("actor_label", "dave"),
        ("metrics", {"p99": "181ms", "error_rate": 0.004}),
        ("reason", "x"),
        ("data", {"a": 1}),
        ("prev_hash", "1" * 64),
    ]:
        assert compute_hash(row(**{name: other})) != base, name


def test_extra_keys_such_as_the_hash_itself_are_ignored():
    assert compute_hash({**row(), "hash": "whatever"}) == compute_hash(row())


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # What PostgreSQL's jsonb gives back for what went in.
        (1e16, 10_000_000_000_000_000),
        (1.0, 1),
        (-0.0, 0),
        (Decimal("12.50"), Decimal("12.5")),
        (Decimal("100.00"), 100),
    ],
)
def test_numbers_hash_by_value_not_by_python_type(left, right):
    assert compute_hash(row(metrics={"v": left})) == compute_hash(row(metrics={"v": right}))


def test_a_number_and_its_text_hash_differently():
    assert compute_hash(row(metrics={"v": 1})) != compute_hash(row(metrics={"v": "1"}))


def test_the_same_instant_in_another_zone_hashes_the_same():
    paris = dt.timezone(dt.timedelta(hours=1))
    assert compute_hash(
        row(occurred_at=dt.datetime(2026, 11, 28, 10, 30, tzinfo=paris))
    ) == compute_hash(row())


def test_refuses_what_it_cannot_hash_exactly():
    with pytest.raises(ValueError, match="naive"):
        compute_hash(row(occurred_at=dt.datetime(2026, 11, 28)))
    with pytest.raises(ValueError, match="non-finite"):
        compute_hash(row(metrics={"v": float("nan")}))
    with pytest.raises(KeyError):
        compute_hash({"id": 1})


def test_every_code_has_a_meaning():
    assert [code.value for code in EventCode] == [
        "RWG-001", "RWG-002", "RWG-003", "RWG-004",
        "WDG-101", "WDG-102", "WDG-103", "WDG-104", "WDG-105", "WDG-106",
        "WDG-201", "WDG-202", "WDG-203", "WDG-204", "WDG-205", "WDG-206", "WDG-207",
        "WDG-301", "WDG-302", "WDG-401", "WDG-303", "WDG-304", "WDG-305", "WDG-501",
        "WDG-502", "WDG-511", "WDG-512", "WDG-513", "WDG-514", "WDG-521", "WDG-522", "WDG-523",
        "WDG-601", "WDG-602", "WDG-701", "WDG-702", "WDG-703", "WDG-704", "WDG-705",
    ]  # fmt: skip
    assert describe("RWG-003") == "Rollout rolled back"
    assert describe("XYZ-999") == "XYZ-999"
    assert all(describe(code) != code for code in EventCode)
