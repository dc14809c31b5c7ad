from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import CHUNK_SIZE, verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain. Exits 0 with the number of verified "
        "events, or 1 naming the first broken event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="Database alias to verify.")
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Rows fetched per round trip."
        )
        parser.add_argument(
            "--anchor",
            metavar="HASH",
            help="A head hash printed by an earlier run; fail unless it is still in the chain "
            "(catches rows removed from the end).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(
            using=options["database"], chunk_size=options["chunk_size"], anchor=options["anchor"]
        )
        if report.broken is not None:
            raise CommandError(
                f"Audit chain BROKEN after {report.verified} sound events: "
                f"{report.broken.describe()}",
                returncode=1,
            )
        if report.anchor_found is False:
            raise CommandError(
                f"Audit chain sound for {report.verified} events, but the anchor "
                f"{options['anchor']} is not in it: events were removed from the end "
                "or the chain was rewritten.",
                returncode=1,
            )
        self.stdout.write(
            f"Audit chain verified: {report.verified} events. Head hash: {report.head}"
        )
