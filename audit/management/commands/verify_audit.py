from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.anchors import AnchorFileError, read_anchors
from audit.chain import CHUNK_SIZE, verify_chain
from audit.checkpoint import record_full_check

# Anchor mismatches listed in the message; the count says how many there are.
LISTED_MISMATCHES = 10


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain. Exits 0 with the number of verified "
        "events, or 1 naming the first broken event or the anchors it no longer matches."
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
        parser.add_argument(
            "--anchors",
            metavar="FILE",
            help="Heads recorded by the anchor job (JSON lines, or log lines carrying them); "
            "fail unless each anchored event is in the chain with the anchored hash (catches "
            "a rewrite that recomputed every later hash).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = []
        if options["anchors"] is not None:
            try:
                anchors = read_anchors(Path(options["anchors"]))
            except AnchorFileError as exc:
                raise CommandError(str(exc), returncode=2) from exc
        report = verify_chain(
            using=options["database"],
            chunk_size=options["chunk_size"],
            anchor=options["anchor"],
            anchors=anchors,
        )
        if options["database"] == "default":
            record_full_check(report)  # the audit page shows this result from now on
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
        if report.anchor_mismatches:
            mismatches = report.anchor_mismatches
            listed = "\n".join(f"  {item.describe()}" for item in mismatches[:LISTED_MISMATCHES])
            more = len(mismatches) - LISTED_MISMATCHES
            raise CommandError(
                f"Audit chain links up for {report.verified} events, but {len(mismatches)} of "
                f"{report.anchors_checked} anchors do not match it:\n{listed}"
                + (f"\n  … and {more} more" if more > 0 else ""),
                returncode=1,
            )
        self.stdout.write(
            f"Audit chain verified: {report.verified} events. Head hash: {report.head}"
        )
        if options["anchors"] is not None:
            self.stdout.write(f"Anchors: all {report.anchors_checked} match the chain.")
