from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "lantai.access"
    label = "access"
    verbose_name = "利用"
