"""Version 1 of the policy, as its data migration writes it, before every test here.

The migration creates it once per database; a transactional test elsewhere
empties every table when it ends (the flush), so a test here may find none.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def version_one(db: None) -> None:
    import_module("policies.migrations.0002_version_one").create_version_one(apps, None)
