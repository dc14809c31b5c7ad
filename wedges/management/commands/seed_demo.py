from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from org.demo import seed_demo
from wedges.demo import seed_demo_rollouts


class Command(BaseCommand):
    help = (
        "Create the demo organisation (sections, subsystems, one user per role) and a few "
        "demo rollouts. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-rollouts", action="store_true", help="Only the organisation, no demo rollouts."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        changes = seed_demo()
        if not options["no_rollouts"]:
            changes += [f"rollout {title!r}" for title in seed_demo_rollouts()]
        if changes:
            self.stdout.write(f"Seeded: {', '.join(changes)}.")
        else:
            self.stdout.write("The demo organisation is already in place.")
