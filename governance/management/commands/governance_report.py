from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.exports import report_csv, report_dict, report_text
from governance.report import Quarter, QuarterError, governance_report

FORMATS = {
    "text": report_text,
    "json": lambda report: json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n",
    "csv": report_csv,
}


class Command(BaseCommand):
    help = (
        "Print the quarterly governance report: proposals, wedge outcomes, trigger to "
        "rollback, exposure at catch, incidents and waivers. Exits 2 on a bad quarter."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quarter", required=True, metavar="YYYYQn", help="The quarter, e.g. 2026Q4 (UTC)."
        )
        parser.add_argument("--format", choices=sorted(FORMATS), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            quarter = Quarter.parse(options["quarter"])
        except QuarterError as bad:
            raise CommandError(str(bad), returncode=2) from None
        self.stdout.write(FORMATS[options["format"]](governance_report(quarter)), ending="")
