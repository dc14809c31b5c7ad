"""``import_incidents FILE.csv --user dave [--source pagerduty] [--dry-run]``.

Reads an incident tool's CSV export (PagerDuty, Opsgenie, incident.io: the
column names of ``governance.intake.COLUMNS``) and creates or updates one
incident per row through ``governance.services.incident_upsert``: the same
``(source, id)`` again updates, never duplicates. Each row is its own
transaction; a bad row is reported as ``row N, column X: message [code]``
and the others still go in (with ``--dry-run`` nothing is written).

Exit 0 when every row is good, 1 when a row was refused, 2 when the file
cannot be read as such a CSV (unreadable, no header, a required column
missing) or the user is unknown — as ``validate_wedge``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from config.refusals import InvalidInput, NotAllowed
from governance import intake, services
from org.models import User

MAX_ROWS = 100_000


class Command(BaseCommand):
    help = "Import incidents from an incident tool's CSV export (create or update by id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file with a header row; '-' reads standard input.")
        parser.add_argument(
            "--user", required=True, help="Who records them (an operator or section lead)."
        )
        parser.add_argument(
            "--source",
            default="csv",
            help="The incident tool, e.g. pagerduty (with the id, what identifies an "
            "incident). Default: csv.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            raw = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self._fail(f"{name}: not a readable text file: {exc}")
        actor = User.objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            self._fail(f"Unknown user {options['user']!r}.")
        reader = csv.reader(io.StringIO(raw))
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            self._fail(f"{name}: empty, or not a CSV file: the first row must name the columns.")
        columns: dict[int, str] = {}
        for index, column in enumerate(header):
            field = intake.canonical_column(column)
            if field is not None and field not in columns.values():
                columns[index] = field
        missing = [field for field in intake.REQUIRED if field not in columns.values()]
        if missing:
            wanted = "; ".join(f"{f} (or {', '.join(intake.COLUMNS[f][1:4])})" for f in missing)
            self._fail(f"{name}: missing column(s): {wanted}.")
        if not {"proposal", "subsystem"} & set(columns.values()):
            self._fail(f"{name}: give a proposal column or a subsystem (service) column.")
        heading = {field: header[index].strip() for index, field in columns.items()}

        outcome: Counter[str] = Counter()
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if sum(outcome.values()) >= MAX_ROWS:
                    self._fail(f"{name}: more than {MAX_ROWS} rows; split the file.")
                data = {field: row[i] for i, field in columns.items() if i < len(row)}
                outcome[self._row(line, data, heading, actor, options)] += 1
        except csv.Error as exc:
            self._fail(f"{name}, row {reader.line_num}: not valid CSV: {exc}")
        verb = "would be" if options["dry_run"] else "were"
        self.stdout.write(
            f"{outcome['created']} created, {outcome['updated']} updated, "
            f"{outcome['unchanged']} unchanged, {outcome['refused']} refused"
            f"{' (dry run: nothing written)' if options['dry_run'] else ''}."
        )
        if outcome["refused"]:
            self.stderr.write(f"{outcome['refused']} row(s) {verb} refused; see above.")
        sys.exit(1 if outcome["refused"] else 0)

    def _row(
        self,
        line: int,
        data: dict[str, str],
        heading: dict[str, str],
        actor: User,
        options: dict[str, Any],
    ) -> str:
        try:
            done = services.incident_upsert(
                data=data, source=options["source"], actor=actor, dry_run=options["dry_run"]
            )
        except InvalidInput as invalid:
            for problem in invalid.errors:
                column = heading.get(problem.field or "", problem.field or "-")
                self.stdout.write(
                    f"row {line}, column {column}: {problem.message} [{problem.code}]"
                )
            return "refused"
        except NotAllowed as refused:
            self.stdout.write(f"row {line}: {refused.message} [{refused.code}]")
            return "refused"
        incident = done.incident
        linked = " (linked by time)" if done.linked_by_time else ""
        label = f"{incident.external_id} -> proposal #{incident.proposal_id}{linked}"
        if done.created:
            self.stdout.write(f"row {line}: created {label}")
            return "created"
        if done.changed:
            self.stdout.write(f"row {line}: updated {label}: {', '.join(done.changed)}")
            return "updated"
        self.stdout.write(f"row {line}: unchanged {label}")
        return "unchanged"

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message)
        sys.exit(2)
