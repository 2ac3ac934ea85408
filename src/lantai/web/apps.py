from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "lantai.web"
    label = "web"
    verbose_name = "界面"
