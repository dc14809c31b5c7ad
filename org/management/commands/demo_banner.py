from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from org.demo import DEMO_PASSWORD, USERS


class Command(BaseCommand):
    help = "Print where the app listens and the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, **options: Any) -> None:
        lines = [
            "",
            f"  Wedge is starting at {options['url']}",
            f"  Demo logins (password for all: {DEMO_PASSWORD}):",
        ]
        for user in USERS:
            if user.service_account:
                lines.append(
                    f"    {user.username:<9} {user.description}: "
                    f".venv/bin/python manage.py create_api_token {user.username}"
                )
            else:
                lines.append(f"    {user.username:<9} {user.description}")
        lines += ["  Press Ctrl-C to stop web, worker, beat and the demo agent.", ""]
        self.stdout.write("\n".join(lines))
