from typing import Any

from django.core.management.base import BaseCommand

from config.permissions import markdown


class Command(BaseCommand):
    help = (
        "Print the permission table (config/permissions.py) as Markdown: "
        "`manage.py permissions_table > docs/permissions.md`."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(markdown(), ending="")
