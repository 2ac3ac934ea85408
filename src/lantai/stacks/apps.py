from django.apps import AppConfig


class StacksConfig(AppConfig):
    name = "lantai.stacks"
    label = "stacks"
    verbose_name = "库房管理"
