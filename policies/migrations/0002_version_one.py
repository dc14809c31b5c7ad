"""Version 1 of the policy: the thresholds as the policy document writes them.

Its values are the floor every later version is judged against. Written out
here rather than read from the policy core, so this migration means the same
whatever the code says later.
"""

from datetime import UTC, datetime

from django.db import migrations

VERSION_ONE = {
    "critical_initial_cap": 10.0,
    "min_stages": 2,
    "min_observation_window_hours": 1.0,
    "first_stage_cap": 25.0,
    "pause_after_windows": 3,
    "rollback_slo_seconds": 60,
    "max_waiver_days": 90,
}
# In force from before any proposal could have been submitted.
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def create_version_one(apps, schema_editor):
    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    PolicyVersion.objects.get_or_create(
        number=1,
        defaults={
            **VERSION_ONE,
            "status": "approved",
            "rationale": "The rollout wedge policy as written (docs/policy.md, Thresholds).",
            "effective_at": SINCE,
            "proposed_at": SINCE,
            "decided_at": SINCE,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_policy_versions")]

    operations = [migrations.RunPython(create_version_one, migrations.RunPython.noop)]
