from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "lantai.stats"
    label = "stats"
    verbose_name = "统计"
