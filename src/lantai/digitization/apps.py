from django.apps import AppConfig


class DigitizationConfig(AppConfig):
    name = "lantai.digitization"
    label = "digitization"
    verbose_name = "数字化"

    def ready(self) -> None:
        from lantai.core.signals import audit_changes
        from lantai.digitization import models

        audit_changes(
            models.Batch, "digitization_batch", ("status", "return_reason", "accept_reason")
        )
