"""SQLite's equivalent of the PostgreSQL triggers declared on AuditEvent.

pgtrigger installs triggers on PostgreSQL only; the embedded default (SQLite)
gets these. SQLite has no TRUNCATE: ``DELETE FROM`` without a WHERE clause is
an ordinary delete once a DELETE trigger exists, so it is refused too.

Caution for later migrations: when SQLite alters a table, Django rebuilds it
(new table, copy, drop, rename) and the triggers go with the old table. A
migration that alters AuditEvent must run ``create_triggers`` again.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TRIGGERS = {
    "audit_auditevent_refuse_update": "UPDATE",
    "audit_auditevent_refuse_delete": "DELETE",
}


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, operation in TRIGGERS.items():
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {operation} ON audit_auditevent "
            f"BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: {operation} refused'); END"
        )


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
