from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0006_merge_wave2"),
    ]

    operations = [
        migrations.AddField(
            model_name="queueentry",
            name="returning",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
