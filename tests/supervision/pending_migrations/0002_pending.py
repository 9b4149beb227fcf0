from django.db import migrations


class Migration(migrations.Migration):
    """Never applied: tests/supervision/test_health.py's "forgot to migrate"."""

    dependencies = [("supervision", "0001_super_initial")]
    operations = [migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)]
