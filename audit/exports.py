"""Streaming CSV and JSON exports of the audit trail.

Rows are read with ``QuerySet.iterator()`` and written out a batch at a time,
so memory stays flat however many events match: a million rows never sit in
the process at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.codes import describe
from audit.hashing import HASHED_FIELDS, canonical_datetime
from audit.models import AuditEvent

# The keys of every exported record, in column order: the hashed fields under
# their own names (so anyone can recompute a row's hash), the hash, and the
# code's meaning for people reading the file.
EXPORT_FIELDS: Final = (
    "id",
    "occurred_at",
    "code",
    "meaning",
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
    "hash",
)
CHUNK_SIZE: Final = 2000  # rows per database round trip
BATCH_ROWS: Final = 500  # rows per chunk handed to the web server

# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
_FREE_TEXT: Final = ("stage_id", "actor_label", "reason")


def event_record(values: Mapping[str, Any]) -> dict[str, Any]:
    """The exported (and API) representation of one event's column values."""
    percentage = values["target_percentage"]
    return {
        "id": values["id"],
        "occurred_at": canonical_datetime(values["occurred_at"]),
        "code": values["code"],
        "meaning": describe(values["code"]),
        "proposal_id": values["proposal_id"],
        "waiver_id": values["waiver_id"],
        "stage_id": values["stage_id"],
        "target_percentage": None if percentage is None else str(percentage),
        "actor_id": values["actor_id"],
        "actor_label": values["actor_label"],
        "metrics": values["metrics"],
        "reason": values["reason"],
        "data": values["data"],
        "prev_hash": values["prev_hash"],
        "hash": values["hash"],
    }


def iter_records(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Every event of ``events`` in chain (id) order, one chunk in memory at a time."""
    rows = events.order_by("id").values(*HASHED_FIELDS, "hash").iterator(chunk_size=CHUNK_SIZE)
    for row in rows:
        yield event_record(row)


def spreadsheet_safe(text: str) -> str:
    """Text that a spreadsheet shows rather than runs: a leading formula sign is
    quoted (CSV injection). The JSON exports carry the exact text."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _csv_cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in ("metrics", "data"):
        return _compact(value)
    if name in _FREE_TEXT and isinstance(value, str):
        return spreadsheet_safe(value)  # text people typed
    return value


class _Lines:
    """A write-only file for ``csv.writer`` that hands back what it is given."""

    def write(self, line: str) -> str:
        return line


def _batched(lines: Iterable[str]) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH_ROWS:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Lines())
    yield writer.writerow(EXPORT_FIELDS)
    for record in iter_records(events):
        yield writer.writerow([_csv_cell(name, record[name]) for name in EXPORT_FIELDS])


def json_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """A JSON array, one record per line."""
    yield "["
    separator = "\n"
    for record in iter_records(events):
        yield separator + _compact(record)
        separator = ",\n"
    yield "\n]\n"


def _attachment(body: Iterator[str], content_type: str, extension: str) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(_batched(body), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_response(events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    return _attachment(csv_lines(events), "text/csv; charset=utf-8", "csv")


def json_response(events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    return _attachment(json_lines(events), "application/json", "json")
