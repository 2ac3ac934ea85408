from pathlib import Path

from django.apps import AppConfig


class ExhibitsConfig(AppConfig):
    name = "lantai.exhibits"
    label = "exhibits"
    verbose_name = "专题数据库与网上展厅"

    def ready(self) -> None:
        from django.conf import settings

        from lantai.core import figures
        from lantai.standards import gazetteer

        from . import figures as exhibit_figures

        figures.register("exhibitions_published", exhibit_figures.exhibitions_published)
        figures.register("exhibition_visits", exhibit_figures.exhibition_visits)

        gazetteer.use_local_file(Path(settings.GAZETTEER_FILE))
