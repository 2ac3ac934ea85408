from django.apps import AppConfig


class PreservationConfig(AppConfig):
    name = "lantai.preservation"
    label = "preservation"
    verbose_name = "保存"

    def ready(self) -> None:
        from lantai.preservation import (
            deletion,  # noqa: F401  (preserved records: disposal only)
            signals,  # noqa: F401  (metadata changes → new versions)
        )
