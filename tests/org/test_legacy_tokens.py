"""Keys issued by DRF's authtoken app before scopes keep working."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient

from org.models import ApiToken
from tests.db import owner_connection

pytestmark = pytest.mark.django_db
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
migration = importlib.import_module("org.migrations.0003_legacy_authtoken_keys")


def make_legacy_table(user_id: int) -> None:
    """DRF's table as it was, made by the owner (the application role creates no table)."""
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id bigint NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [LEGACY_KEY, dt.datetime(2026, 11, 1, tzinfo=dt.UTC), user_id],
        )


@pytest.mark.django_db(transaction=True)
def test_legacy_keys_become_full_rights_tokens_and_the_clear_keys_are_dropped(demo, submit):
    make_legacy_table(demo["dave"].pk)
    # Migrations run as the owner, who may drop the table.
    with owner_connection() as owner, owner.schema_editor() as editor:
        migration.copy_legacy_keys(apps, editor)
    token = ApiToken.objects.get()
    assert (token.owner, token.scopes, token.name) == (demo["dave"], ["admin"], migration.NAME)
    assert token.created_at == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert LEGACY_KEY not in repr(ApiToken.objects.values().get())
    assert "authtoken_token" not in connection.introspection.table_names()
    # The same key, unchanged, still does what dave may: operate a rollout.
    proposal = submit("alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    started = client.post(f"/api/v1/proposals/{proposal.pk}/start/", {}, format="json")
    assert started.status_code == 200, started.json()


def test_nothing_to_copy_on_a_database_that_never_had_them(demo):
    with connection.schema_editor() as editor:
        migration.copy_legacy_keys(apps, editor)
    assert not ApiToken.objects.exists()
