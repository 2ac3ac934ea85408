from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "lantai.ops"
    label = "ops"
    verbose_name = "运维"

    def ready(self) -> None:
        # the job hooks (queued time and request id of every job) and the alert delivery job,
        # in every process that queues or runs jobs, not only in the worker's autodiscovery
        from lantai.ops import tasks  # noqa: F401
