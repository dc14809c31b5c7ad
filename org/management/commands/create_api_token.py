from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from org.models import User
from org.tokens import api_token_for


class Command(BaseCommand):
    help = "Print the API token of USERNAME (and nothing else), creating it if missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the existing token with a new one."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is inactive.")
        self.stdout.write(api_token_for(user=user, rotate=options["rotate"]))
