from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings

from governance.demo import seed_demo_history
from org.demo import seed_demo
from org.mail import drain
from policies.demo import seed_demo_policy_change
from waivers.demo import seed_demo_waivers
from wedges.demo import seed_demo_rollouts


class Command(BaseCommand):
    help = (
        "Create the demo organisation (sections, subsystems, one user per role), a year of "
        "history (past rollouts, rollbacks, incidents, a waived change, a past change "
        "freeze), a few running demo rollouts and a waiver awaiting its second approval. "
        "Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-rollouts",
            action="store_true",
            help="Only the organisation, no history, demo rollouts or waivers.",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="No past quarters: only the running demo rollouts and the waiver.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        changes = seed_demo()
        if not options["no_rollouts"]:
            # The demo's waiver steps would email people who are not there.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                # The history first: its ticks then meet no running demo rollout.
                if not options["no_history"]:
                    changes += seed_demo_history()
                changes += [f"rollout {title!r}" for title in seed_demo_rollouts()]
                changes += seed_demo_waivers()
                changes += seed_demo_policy_change()
                drain()  # the emails handed to the mail thread go nowhere, too
        if changes:
            self.stdout.write(f"Seeded: {', '.join(changes)}.")
        else:
            self.stdout.write("The demo organisation is already in place.")
