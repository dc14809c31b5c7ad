from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_sections_and_short_errors")]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="last_error",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
