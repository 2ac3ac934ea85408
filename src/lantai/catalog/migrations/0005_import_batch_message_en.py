from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_import_batch_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="message_en",
            field=models.TextField(blank=True),
        ),
    ]
