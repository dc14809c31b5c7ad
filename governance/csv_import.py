"""An incident tool's CSV export, row by row through ``services.incident_upsert``.

Shared by ``manage.py import_incidents`` and the import page. Each row is its
own transaction: a bad row is reported by row and column and the others still
go in (with ``dry_run`` nothing is written). A file that cannot be read as
such a CSV (no header, a required column missing) is refused as a whole.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from config.refusals import InvalidInput, NotAllowed
from governance import intake, services
from org.models import User

MAX_ROWS: Final = 100_000


class FileRefused(ValueError):
    """The file is not an incident CSV we can read (the import's exit 2)."""


@dataclass(frozen=True)
class RowResult:
    line: int
    outcome: str  # created, updated, unchanged, refused
    text: str  # what to tell the person: the incident, or the problems
    problems: tuple[str, ...] = ()  # with their codes, for a terminal
    messages: tuple[str, ...] = ()  # the same in words, for the page


@dataclass
class ImportResult:
    rows: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.outcome for row in self.rows)

    def summary(self, *, dry_run: bool) -> str:
        counts = self.counts
        return (
            f"{counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['refused']} refused"
            f"{' (dry run: nothing written)' if dry_run else ''}."
        )


def import_csv(text: str, *, source: str, actor: User, dry_run: bool) -> ImportResult:
    """Import every row of ``text``; ``FileRefused`` if the file as a whole is unusable."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise FileRefused(
            "empty, or not a CSV file: the first row must name the columns."
        ) from None
    columns: dict[int, str] = {}
    for index, column in enumerate(header):
        name = intake.canonical_column(column)
        if name is not None and name not in columns.values():
            columns[index] = name
    missing = [name for name in intake.REQUIRED if name not in columns.values()]
    if missing:
        wanted = "; ".join(f"{f} (or {', '.join(intake.COLUMNS[f][1:4])})" for f in missing)
        raise FileRefused(f"missing column(s): {wanted}.")
    if not {"proposal", "subsystem"} & set(columns.values()):
        raise FileRefused("give a proposal column or a subsystem (service) column.")
    heading = {name: header[index].strip() for index, name in columns.items()}
    result = ImportResult()
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(result.rows) >= MAX_ROWS:
                raise FileRefused(f"more than {MAX_ROWS} rows; split the file.")
            data = {name: row[i] for i, name in columns.items() if i < len(row)}
            result.rows.append(_row(reader.line_num, data, heading, source, actor, dry_run))
    except csv.Error as exc:
        raise FileRefused(f"row {reader.line_num}: not valid CSV: {exc}") from None
    return result


def _row(
    line: int,
    data: dict[str, str],
    heading: dict[str, str],
    source: str,
    actor: User,
    dry_run: bool,
) -> RowResult:
    try:
        done = services.incident_upsert(data=data, source=source, actor=actor, dry_run=dry_run)
    except InvalidInput as invalid:
        problems = tuple(
            f"row {line}, column {heading.get(p.field or '', p.field or '-')}: "
            f"{p.message} [{p.code}]"
            for p in invalid.errors
        )
        messages = tuple(
            f"Column {heading.get(p.field or '', p.field or '-')}: {p.message}"
            for p in invalid.errors
        )
        return RowResult(line, "refused", "; ".join(problems), problems, messages)
    except NotAllowed as refused:
        problem = f"row {line}: {refused.message} [{refused.code}]"
        return RowResult(line, "refused", problem, (problem,), (refused.message,))
    incident = done.incident
    linked = " (linked by time)" if done.linked_by_time else ""
    label = f"{incident.external_id} -> proposal #{incident.proposal_id}{linked}"
    if done.created:
        return RowResult(line, "created", f"row {line}: created {label}")
    if done.changed:
        return RowResult(line, "updated", f"row {line}: updated {label}: {', '.join(done.changed)}")
    return RowResult(line, "unchanged", f"row {line}: unchanged {label}")
