"""The hash of an audit row: SHA-256 over a canonical serialisation.

The writer (``audit.services.record_event``) and the verifier
(``audit.chain.verify_chain``) both call :func:`compute_hash`, so they cannot
drift apart. The serialisation is a JSON object of every hashed field, keys
sorted, no whitespace, UTF-8 (``ensure_ascii=False``), with:

* datetimes as ISO 8601 in UTC with microseconds
  (``2026-11-28T09:30:00.000000+00:00``); naive datetimes are refused;
* Decimals and every JSON number as the shortest exact decimal text
  (``12.50`` -> ``12.5``, ``1.0`` -> ``1``, ``-0.0`` -> ``0``).

Numbers are canonicalised because a JSON value does not come back from the
database exactly as it went in: PostgreSQL's ``jsonb`` stores numbers as
``numeric`` and prints ``1e16`` back as ``10000000000000000`` (an ``int`` to
Python) and ``-0.0`` as ``0.0``. Hashing the number's value rather than its
Python type keeps a row's hash stable across that round trip, so the verifier
never reports an untouched row as tampered with.

Anyone holding an export can recompute a row's hash with these rules: the
JSON export carries exactly the hashed fields under the same names.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

GENESIS_HASH: Final = "0" * 64

# Every column of audit_auditevent except ``hash`` itself.
HASHED_FIELDS: Final = (
    "id",
    "occurred_at",
    "code",
    "proposal_id",
    "waiver_id",
    "stage_id",
    "target_percentage",
    "actor_id",
    "actor_label",
    "metrics",
    "reason",
    "data",
    "prev_hash",
)


def canonical_number(value: int | float | decimal.Decimal) -> str:
    """The shortest exact decimal text of a finite number."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float.
        value = decimal.Decimal(repr(value))
    if not value.is_finite():
        raise ValueError(f"Cannot hash a non-finite number: {value}.")
    if value.is_zero():
        return "0"
    # A context wide enough that normalising never rounds.
    context = decimal.Context(prec=max(28, len(value.as_tuple().digits)))
    return format(value.normalize(context), "f")


def canonical_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Cannot hash a naive datetime: {value!r}.")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _encode(value: Any) -> str:
    # bool before int: True is an int to Python.
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float | decimal.Decimal):
        return canonical_number(value)
    if isinstance(value, dt.datetime):
        return json.dumps(canonical_datetime(value))
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = []
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}.")
            items.append(json.dumps(key, ensure_ascii=False) + ":" + _encode(value[key]))
        return "{" + ",".join(items) + "}"
    raise TypeError(f"Cannot hash a value of type {type(value).__name__}.")


def canonical_bytes(values: Mapping[str, Any]) -> bytes:
    """The canonical serialisation of a row's hashed fields."""
    missing = set(HASHED_FIELDS) - values.keys()
    if missing:
        raise KeyError(f"Missing hashed fields: {sorted(missing)}.")
    return _encode({name: values[name] for name in HASHED_FIELDS}).encode("utf-8")


def compute_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical serialisation of ``values``.

    ``values`` maps every name in :data:`HASHED_FIELDS` to the row's value,
    ``prev_hash`` included; extra keys (such as ``hash``) are ignored.
    """
    return hashlib.sha256(canonical_bytes(values)).hexdigest()
