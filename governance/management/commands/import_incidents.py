"""``import_incidents FILE.csv --user dave [--source pagerduty] [--dry-run]``.

Reads an incident tool's CSV export (PagerDuty, Opsgenie, incident.io: the
column names of ``governance.intake.COLUMNS``) and creates or updates one
incident per row (``governance.csv_import``): the same ``(source, id)`` again
updates, never duplicates. A bad row is reported as ``row N, column X:
message [code]`` and the others still go in (with ``--dry-run`` nothing is
written).

Exit 0 when every row is good, 1 when a row was refused, 2 when the file
cannot be read as such a CSV (unreadable, no header, a required column
missing) or the user is unknown — as ``validate_wedge``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from governance.csv_import import FileRefused, import_csv
from org.models import User


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
        try:
            result = import_csv(
                raw, source=options["source"], actor=actor, dry_run=options["dry_run"]
            )
        except FileRefused as refused:
            self._fail(f"{name}: {refused}")
        for row in result.rows:
            for line in row.problems or (row.text,):
                self.stdout.write(line)
        self.stdout.write(result.summary(dry_run=options["dry_run"]))
        refused_rows = result.counts["refused"]
        if refused_rows:
            self.stderr.write(f"{refused_rows} row(s) refused; see above.")
        sys.exit(1 if refused_rows else 0)

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message)
        sys.exit(2)
