from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "lantai.platform"
    label = "platform"
    verbose_name = "全区档案查询平台"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from lantai.certificates.models import IssuerKey

        from . import handlers, trust

        trust.register()
        handlers.register()
        # a new, rotated or withdrawn issuer key goes to the hub at once (not at the next hourly
        # refresh): until the hub lists it, other archives cannot verify what it signs
        post_save.connect(trust.keys_changed, sender=IssuerKey, dispatch_uid="platform-issuer-keys")
