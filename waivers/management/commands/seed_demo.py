from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings

from org.demo import seed_demo
from org.mail import drain
from policies.demo import seed_demo_policy_change
from waivers.demo import seed_demo_waivers
from wedges.demo import seed_demo_rollouts


class Command(BaseCommand):
    help = (
        "Create the demo organisation (sections, subsystems, one user per role), a few "
        "demo rollouts and a waiver awaiting its second approval. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-rollouts",
            action="store_true",
            help="Only the organisation, no demo rollouts or waivers.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        changes = seed_demo()
        if not options["no_rollouts"]:
            # The demo's waiver steps would email people who are not there.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                changes += [f"rollout {title!r}" for title in seed_demo_rollouts()]
                changes += seed_demo_waivers()
                changes += seed_demo_policy_change()
                drain()  # the emails handed to the mail thread go nowhere, too
        if changes:
            self.stdout.write(f"Seeded: {', '.join(changes)}.")
        else:
            self.stdout.write("The demo organisation is already in place.")
