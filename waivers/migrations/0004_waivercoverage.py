"""The record of which waiver covers a proposal moves to the waivers app.

It was ``ChangeProposal.waiver``, a foreign key from wedges to waivers (an
edge against the direction the apps depend in). This migration creates
``WaiverCoverage`` and copies every proposal's waiver into it;
``wedges.0003`` then drops the old column, and ``waivers.0005`` declares
``WaiverRequest.covered_proposals`` through the new table.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_covers(apps, schema_editor):
    """One coverage row for every proposal whose ``waiver`` is set."""
    ChangeProposal = apps.get_model("wedges", "ChangeProposal")
    WaiverCoverage = apps.get_model("waivers", "WaiverCoverage")
    covered = ChangeProposal.objects.filter(waiver__isnull=False).order_by("pk")
    WaiverCoverage.objects.bulk_create(
        (
            WaiverCoverage(proposal_id=proposal_id, waiver_id=waiver_id)
            for proposal_id, waiver_id in covered.values_list("pk", "waiver_id").iterator()
        ),
        batch_size=1000,
    )


def copy_covers_back(apps, schema_editor):
    """Each proposal's ``waiver`` set again from its coverage row (or cleared)."""
    ChangeProposal = apps.get_model("wedges", "ChangeProposal")
    WaiverCoverage = apps.get_model("waivers", "WaiverCoverage")
    ChangeProposal.objects.update(
        waiver_id=Subquery(
            WaiverCoverage.objects.filter(proposal_id=OuterRef("pk")).values("waiver_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("waivers", "0003_one_open_request_per_proposal"),
        # The last state in which proposals still carry their waiver.
        ("wedges", "0002_stage_window_end"),
    ]

    operations = [
        migrations.CreateModel(
            name="WaiverCoverage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "proposal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="waiver_coverage",
                        to="wedges.changeproposal",
                    ),
                ),
                (
                    "waiver",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="coverages",
                        to="waivers.waiverrequest",
                    ),
                ),
            ],
        ),
        migrations.RunPython(copy_covers, copy_covers_back, elidable=False),
    ]
