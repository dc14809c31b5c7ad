"""Proposals no longer point at their waiver: ``waivers.WaiverCoverage`` records it.

Runs after ``waivers.0004`` has copied every proposal's waiver there.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("wedges", "0002_stage_window_end"),
        ("waivers", "0004_waivercoverage"),
    ]

    operations = [
        migrations.RemoveField(model_name="changeproposal", name="waiver"),
    ]
