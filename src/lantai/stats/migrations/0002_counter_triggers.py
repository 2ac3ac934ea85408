"""The triggers that keep stats_recordcount and stats_componentcount equal to the catalogue
(stats/counters.py), per database vendor, and the first count of what is already there."""

from django.db import migrations


def install(apps, schema_editor):
    from lantai.stats import counters

    counters.rebuild(schema_editor.connection)


def uninstall(apps, schema_editor):
    from lantai.stats import counters

    for sql in counters.uninstall_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_initial"), ("catalog", "0009_image_size")]

    operations = [migrations.RunPython(install, uninstall)]
