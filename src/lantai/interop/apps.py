from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "lantai.interop"
    label = "interop"
    verbose_name = "互操作"

    def ready(self) -> None:
        from lantai.interop import publishing

        publishing.connect_signals()  # record saves and deletes → the OAI-PMH publication table
