"""Keys issued by DRF's authtoken app become ``admin`` tokens of their user.

Their holders keep using them unchanged: only the key's SHA-256 and its first
characters are kept, as for new keys, and the table that held the keys in
clear is dropped (the app is no longer installed, so nothing else would).
The table is read with plain SQL for the same reason: its model is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import migrations

LEGACY_TABLE = "authtoken_token"
KEY_PREFIX_LENGTH = 12
NAME = "Token issued before scopes"


def copy_legacy_keys(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("org", "ApiToken")
    table = schema_editor.quote_name(LEGACY_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {table}")
        rows = cursor.fetchall()
    ApiToken.objects.using(connection.alias).bulk_create(
        [
            ApiToken(
                name=NAME,
                owner_id=user_id,
                key_prefix=key[:KEY_PREFIX_LENGTH],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                scopes=["admin"],
                created_at=_aware(created),
            )
            for key, user_id, created in rows
        ]
    )
    schema_editor.execute(f"DROP TABLE {table}")


def _aware(moment: dt.datetime | str) -> dt.datetime:
    # SQLite hands plain SQL back naive (its values are UTC), or as text.
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class Migration(migrations.Migration):
    dependencies = [("org", "0002_api_tokens")]

    # Going back leaves the tokens: the keys in clear are gone for good.
    operations = [migrations.RunPython(copy_legacy_keys, migrations.RunPython.noop, elidable=True)]
