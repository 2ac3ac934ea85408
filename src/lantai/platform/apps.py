from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "lantai.platform"
    label = "platform"
    verbose_name = "全区档案查询平台"

    def ready(self) -> None:
        from . import handlers, trust

        trust.register()
        handlers.register()
