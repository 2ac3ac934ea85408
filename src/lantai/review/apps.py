from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "lantai.review"
    label = "review"
    verbose_name = "开放审核"
