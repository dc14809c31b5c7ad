from typing import Any

from django.core.management.base import BaseCommand

from org.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo organisation (sections, subsystems, one user per role). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        changes = seed_demo()
        if changes:
            self.stdout.write(f"Seeded: {', '.join(changes)}.")
        else:
            self.stdout.write("The demo organisation is already in place.")
