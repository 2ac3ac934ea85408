from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lantai.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from lantai.core import signals  # noqa: F401  (connects login/audit signal handlers)
