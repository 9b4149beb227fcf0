"""Once installed the router's PostgreSQL function; now a no-op.

The function read the latest schema of several apps, so a copy frozen here would be either
stale or impossible to apply on a fresh database. The router's SQL lives in
routing/sql/route_pick.sql and is installed after every migrate (routing/dbfunctions.py)
and by ``manage.py install_routing_sql``. Unapplying this migration still drops what the
function needs dropped (any version), as it did.
"""

from django.conf import settings
from django.db import migrations

DROP = """
DROP FUNCTION IF EXISTS parley_route_pick(bigint, timestamptz, boolean, double precision,
    integer, boolean, double precision);
DROP FUNCTION IF EXISTS parley_route_pick(bigint, timestamptz, boolean, double precision,
    integer);
DROP FUNCTION IF EXISTS parley_route_entry(bigint, timestamptz, timestamptz, boolean,
    double precision, integer, text);
DROP FUNCTION IF EXISTS parley_queue_open(jsonb, text, timestamptz);
DROP FUNCTION IF EXISTS parley_iso(timestamptz);
"""


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0003_queue_moderation_policy"),
        ("agents", "0003_presence_routing_index"),
        ("chat", "0002_language_pipeline"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, drop)]
