from django.apps import AppConfig


class MarriageConfig(AppConfig):
    name = "lantai.marriage"
    label = "marriage"
    verbose_name = "婚姻档案"
