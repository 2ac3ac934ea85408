from django.apps import AppConfig


class StacksConfig(AppConfig):
    name = "lantai.stacks"
    label = "stacks"
    verbose_name = "库房管理"

    def ready(self) -> None:
        from lantai.core import figures

        figures.register("shelving_metres", _shelving_metres)


def _shelving_metres(year: int, repository_id: int) -> float:
    """档案排架长度 (metres) at the end of `year` in the buildings of the archives
    `repository_id`: stacks.services.shelving_metres."""
    from .services import shelving_metres

    return shelving_metres(year, repository_id)
