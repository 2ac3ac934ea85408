from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "lantai.ingest"
    label = "ingest"
    verbose_name = "接收"

    def ready(self) -> None:
        from lantai.core.signals import audit_changes
        from lantai.ingest import models

        audit_changes(
            models.Transfer,
            "transfer",
            ("unit", "title", "status", "return_reason", "accept_reason"),
        )
