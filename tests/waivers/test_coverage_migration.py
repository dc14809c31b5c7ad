"""The data migration that moves each proposal's waiver into ``WaiverCoverage``, both ways.

The test puts the old ``wedges_changeproposal.waiver_id`` column back (as the
database owner: the application role may not alter tables), runs the
migration's functions on the models as they were at that point of the
history, and drops the column again.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.db import owner_connection
from waivers.models import WaiverCoverage

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = importlib.import_module("waivers.migrations.0004_waivercoverage")


@pytest.fixture
def old_apps():
    """The models after waivers.0004, with the proposals' ``waiver`` column restored."""
    state = MigrationLoader(connection).project_state(("waivers", "0004_waivercoverage"))
    apps = state.apps
    proposal_model = apps.get_model("wedges", "ChangeProposal")
    waiver = proposal_model._meta.get_field("waiver")
    with owner_connection() as owner, owner.schema_editor() as editor:
        editor.add_field(proposal_model, waiver)
    yield apps
    with owner_connection() as owner, owner.schema_editor() as editor:
        editor.remove_field(proposal_model, waiver)


def test_every_proposal_waiver_becomes_a_coverage_row_and_back(
    single_stage, submit, request_waiver, approve, old_apps
):
    covered = [single_stage(), single_stage()]
    waivers = [approve(request_waiver(proposal=p), "bob", "carol") for p in covered]
    uncovered = [single_stage("dave"), submit()]
    proposals = old_apps.get_model("wedges", "ChangeProposal")
    for proposal, waiver in zip(covered, waivers, strict=True):
        proposals.objects.filter(pk=proposal.pk).update(waiver_id=waiver.pk)
    WaiverCoverage.objects.all().delete()  # as before the migration: no rows yet

    MIGRATION.copy_covers(old_apps, None)

    assert sorted(WaiverCoverage.objects.values_list("proposal_id", "waiver_id")) == sorted(
        (p.pk, w.pk) for p, w in zip(covered, waivers, strict=True)
    )
    assert not WaiverCoverage.objects.filter(proposal__in=uncovered).exists()

    proposals.objects.update(waiver_id=None)
    MIGRATION.copy_covers_back(old_apps, None)

    expected = {p.pk: w.pk for p, w in zip(covered, waivers, strict=True)}
    expected.update({p.pk: None for p in uncovered})
    assert dict(proposals.objects.values_list("pk", "waiver_id")) == expected
