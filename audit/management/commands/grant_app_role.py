from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from audit.roles import (
    OWNER_DB_ALIAS,
    AppRoleError,
    app_role,
    create_login_role,
    grant_app_privileges,
    owner_configured,
)


class Command(BaseCommand):
    help = (
        "As the owner (DATABASE_OWNER_URL), grant the application role (DATABASE_URL's user) "
        "read and write on every table and only SELECT and INSERT on the audit trail. "
        "`migrate` does this after every run; use this after creating or replacing the role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--create-role",
            action="store_true",
            help="Create the application role first (LOGIN, with DATABASE_URL's password) "
            "if it does not exist; the owner needs CREATEROLE.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not owner_configured():
            raise CommandError(
                "DATABASE_OWNER_URL is not set: there is no owner to grant from (SQLite, "
                "or one PostgreSQL role for everything)."
            )
        if options["create_role"]:
            password = settings.DATABASES[DEFAULT_DB_ALIAS].get("PASSWORD") or None
            with connections[OWNER_DB_ALIAS].cursor() as cursor:
                if create_login_role(cursor, app_role(), password):
                    self.stdout.write(f"Created the role {app_role()}.")
        try:
            grants = grant_app_privileges(using=OWNER_DB_ALIAS)
        except AppRoleError as exc:
            raise CommandError(str(exc)) from exc
        if grants is None:
            raise CommandError("DATABASE_URL connects as the owner: there is no role to grant to.")
        for statement in grants.statements:
            self.stdout.write(statement)
