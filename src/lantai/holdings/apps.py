from django.apps import AppConfig


class HoldingsConfig(AppConfig):
    name = "lantai.holdings"
    label = "holdings"
    verbose_name = "征集与馆藏"
