from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "lantai.ops"
    label = "ops"
    verbose_name = "运维"
