from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from config.refusals import ServiceError
from org.models import Scope, Subsystem, User
from org.tokens import DEFAULT_NAME, parse_lifetime, token_issue


class Command(BaseCommand):
    help = (
        "Issue an API token of USERNAME and print its key (and nothing else). Without "
        "--scope the token has every right the user's roles give (admin)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=Scope.values,
            metavar="SCOPE",
            help=f"A scope of the token (repeatable): {', '.join(Scope.values)}.",
        )
        parser.add_argument(
            "--subsystem",
            action="append",
            dest="subsystems",
            metavar="SLUG",
            help="Limit the token to this subsystem (repeatable); default: all.",
        )
        parser.add_argument(
            "--expires-in",
            metavar="DURATION",
            help="Lifetime such as 90d, 12h or 2w; default: no expiry.",
        )
        parser.add_argument("--name", default=DEFAULT_NAME, help="The token's name.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="First revoke the user's active tokens of the same name.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is inactive.")
        slugs = options["subsystems"] or []
        subsystems = list(Subsystem.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {subsystem.slug for subsystem in subsystems})
        if missing:
            raise CommandError(f"No subsystem {', '.join(map(repr, missing))}.")
        expires_at = None
        if options["expires_in"]:
            try:
                expires_at = timezone.now() + parse_lifetime(options["expires_in"])
            except ValueError as error:
                raise CommandError(str(error)) from None
        try:
            issued = token_issue(
                owner=user,
                actor=user,
                name=options["name"],
                scopes=options["scopes"] or [Scope.ADMIN],
                subsystems=subsystems,
                expires_at=expires_at,
                rotate=options["rotate"],
            )
        except ServiceError as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write(issued.key)
