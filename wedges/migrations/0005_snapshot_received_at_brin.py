"""A BRIN index on ``MetricSnapshot.received_at`` for snapshot retention (PostgreSQL only).

Snapshots arrive in time order, so a block-range index finds the old ones in
a table of millions at almost no cost to inserts (a few pages, updated only
when a block range's bounds change) — unlike a B-tree, which every snapshot
insert would also have to update. SQLite, the embedded default, keeps few
snapshots and prunes by scanning.
"""

from django.db import migrations

INDEX = "snapshot_received_at_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("wedges", "MetricSnapshot")._meta.db_table
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} USING brin (received_at)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("wedges", "0004_tick_due_times"),
    ]

    operations = [migrations.RunPython(create, drop)]
