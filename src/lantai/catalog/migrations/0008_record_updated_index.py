# The incremental readers of the catalogue (the OAI-PMH publication sync, the search catch-up)
# read records by (updated_at, id) after a watermark: an index makes an unchanged catalogue cost
# one index probe instead of a scan of every record.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_opencopy"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="record",
            index=models.Index(fields=["updated_at", "id"], name="record_updated"),
        ),
    ]
