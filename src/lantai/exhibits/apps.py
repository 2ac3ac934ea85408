from pathlib import Path

from django.apps import AppConfig


class ExhibitsConfig(AppConfig):
    name = "lantai.exhibits"
    label = "exhibits"
    verbose_name = "专题数据库与网上展厅"

    def ready(self) -> None:
        from django.conf import settings

        from lantai.standards import gazetteer

        gazetteer.use_local_file(Path(settings.GAZETTEER_FILE))
