"""``migrate`` as the schema owner, then the application role's privileges.

With ``DATABASE_OWNER_URL`` set, ``manage.py migrate`` runs on the owner's
connection (the ``owner`` alias) instead of the application's, and grants the
application role what it needs and nothing more (``audit.roles``). Without it
(SQLite, or one PostgreSQL role for everything) this is Django's ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError, CommandParser
from django.core.management.commands import migrate

from audit.roles import (
    OWNER_DB_ALIAS,
    AppRoleError,
    default_connection_as,
    grant_app_privileges,
    owner_configured,
)


class Command(migrate.Command):
    help = (
        migrate.Command.help
        + " Runs as the owner (DATABASE_OWNER_URL) when one is configured, then grants "
        "the application role (DATABASE_URL) its privileges."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        if owner_configured():
            parser.set_defaults(database=OWNER_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with default_connection_as(database):
            super().handle(*args, **options)
            if database != OWNER_DB_ALIAS or options["plan"] or options["check_unapplied"]:
                return
            try:
                grants = grant_app_privileges(using=database)
            except AppRoleError as exc:
                raise CommandError(str(exc)) from exc
        if grants is None:
            self.stderr.write(
                "DATABASE_URL connects as the owner: the application can still disable the "
                "audit triggers. Give it a role of its own (README, Running it in production)."
            )
        elif options["verbosity"] >= 1:
            self.stdout.write(
                f"Application role {grants.app_role}: read and write, append only on the "
                f"audit trail ({len(grants.statements)} grants by {grants.owner_role})."
            )
