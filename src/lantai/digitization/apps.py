from django.apps import AppConfig


class DigitizationConfig(AppConfig):
    name = "lantai.digitization"
    label = "digitization"
    verbose_name = "数字化"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from lantai.catalog.models import Component
        from lantai.core.signals import audit_changes
        from lantai.digitization import models, recordings

        audit_changes(
            models.Batch, "digitization_batch", ("status", "return_reason", "accept_reason")
        )
        # an audio or video file uploaded as an electronic file (上传电子文件, the REST API, an
        # ingest) becomes a recording with its access copy: the catalogue room cannot import
        # this one, so it is told by the signal (DESIGN.md, floors)
        post_save.connect(
            recordings.component_saved,
            sender=Component,
            dispatch_uid="digitization-component-recording",
        )
