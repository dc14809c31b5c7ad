"""``WaiverRequest.covered_proposals``, now through ``WaiverCoverage``.

After ``wedges.0003``: until then the old foreign key's reverse accessor had
the same name. No table changes; the through table exists already.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("waivers", "0004_waivercoverage"),
        ("wedges", "0003_remove_changeproposal_waiver"),
    ]

    operations = [
        migrations.AddField(
            model_name="waiverrequest",
            name="covered_proposals",
            field=models.ManyToManyField(
                blank=True,
                related_name="+",
                through="waivers.WaiverCoverage",
                to="wedges.changeproposal",
            ),
        ),
    ]
