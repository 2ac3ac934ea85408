from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "lantai.search"
    label = "search"
    verbose_name = "检索"

    def ready(self) -> None:
        from lantai.search import tasks

        tasks.connect_signals()  # catalogue changes → queued index updates
