"""``validate_wedge FILE.json``: the submission check, for pre-merge CI steps.

Exit 0 when valid, 1 with the errors when not, 2 when the file is not JSON.
FILE holds either a whole proposal (with ``rollout_wedge``) or just the wedge.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from config.api.parsers import loads_strict
from org.models import Subsystem
from wedges.submission import SubmissionCheck, check_submission, check_wedge


class Command(BaseCommand):
    help = "Validate a rollout wedge (or a whole proposal) from a JSON file against the policy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON file; '-' reads standard input.")
        parser.add_argument(
            "--subsystem", help="Subsystem slug (its criticality caps the initial percentage)."
        )
        parser.add_argument("--json", action="store_true", help="Print the verdict as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            raw = sys.stdin.read() if options["file"] == "-" else Path(options["file"]).read_text()
            document = loads_strict(raw)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.stderr.write(f"{options['file']}: not a readable JSON file: {exc}")
            sys.exit(2)
        check = self._check(document, options.get("subsystem"))
        if options["json"]:
            self.stdout.write(json.dumps(check.to_dict(), indent=2))
        else:
            self._print(check)
        sys.exit(0 if check.valid else 1)

    def _check(self, document: Any, subsystem_slug: str | None) -> SubmissionCheck:
        if isinstance(document, dict) and "rollout_wedge" in document:
            if subsystem_slug:
                document = {**document, "subsystem": subsystem_slug}
            return check_submission(document)
        check = SubmissionCheck()
        if subsystem_slug:
            check.subsystem = Subsystem.objects.filter(slug=subsystem_slug).first()
            if check.subsystem is None:
                self.stderr.write(f"Unknown subsystem {subsystem_slug!r}.")
                sys.exit(2)
        try:
            return check_wedge(check, document)
        except DatabaseError:
            # A CI step with no database: the policy as written still judges the wedge.
            self.stderr.write(
                "No database to read the policy version in force: judged under version 1."
            )
            return check_wedge(SubmissionCheck(), document, offline=True)

    def _print(self, check: SubmissionCheck) -> None:
        for issue in check.errors:
            waivable = " (waivable)" if issue.waivable else ""
            self.stdout.write(
                f"error {issue.path or '-'}: {issue.message} [{issue.code}]{waivable}"
            )
        for issue in check.warnings:
            self.stdout.write(f"warning {issue.path or '-'}: {issue.message} [{issue.code}]")
        if check.valid:
            total = check.total_duration_hours
            self.stdout.write(f"valid; planned total duration {total:g} h" if total else "valid")
        else:
            self.stdout.write(f"invalid: {len(check.errors)} error(s)")
