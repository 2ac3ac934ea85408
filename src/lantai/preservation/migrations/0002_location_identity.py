"""Location identity markers, replica damage/pass times and two alert kinds (decision 0020)."""

import uuid

from django.db import migrations, models


def give_identities(apps, schema_editor):  # type: ignore[no-untyped-def]
    StorageLocation = apps.get_model("preservation", "StorageLocation")
    db = schema_editor.connection.alias  # a rebuild migrates another database than default
    for loc in StorageLocation.objects.using(db).all():
        loc.identity = uuid.uuid4()
        loc.save(using=db, update_fields=["identity"])


class Migration(migrations.Migration):
    dependencies = [("preservation", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="storagelocation",
            name="identity",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_identities, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="storagelocation",
            name="identity",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
        migrations.AddField(
            model_name="storagelocation",
            name="marker_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="replica",
            name="damaged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="replica",
            name="pass_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("fixity", "固定性校验不符"),
                    ("missing", "文件缺失"),
                    ("unreachable", "存储位置不可达"),
                    ("low_space", "存储空间不足"),
                    ("repair_failed", "无法修复"),
                    ("policy", "存储策略未满足"),
                    ("offline", "存储位置离线或标识不符"),
                    ("working_copy", "工作副本与目录摘要不符"),
                ],
                max_length=16,
            ),
        ),
    ]
