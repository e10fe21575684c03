"""The table of the API's rate-limit counters when no shared cache is configured: Django's
database cache (the ``api-throttle`` cache of settings.py, ``apps/api/throttling.py``).
Made whatever the cache settings, so that a deployment can drop Redis later."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "accessctl_api_throttle"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
