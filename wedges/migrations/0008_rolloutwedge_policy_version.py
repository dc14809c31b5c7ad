import django.db.models.deletion
from django.db import migrations, models


def validated_under_version_one(apps, schema_editor):
    """Every wedge submitted before versions existed was judged by version 1."""
    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    RolloutWedge = apps.get_model("wedges", "RolloutWedge")
    first = PolicyVersion.objects.filter(number=1).first()
    if first is not None:
        RolloutWedge.objects.filter(policy_version__isnull=True).update(policy_version=first)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0002_version_one"),
        ("wedges", "0007_rolloutwedge_awaiting_approval_since"),
    ]

    operations = [
        migrations.AddField(
            model_name="rolloutwedge",
            name="policy_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="wedges",
                to="policies.policyversion",
            ),
        ),
        migrations.RunPython(validated_under_version_one, migrations.RunPython.noop),
    ]
