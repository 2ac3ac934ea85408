from django.apps import AppConfig


class ExhibitsConfig(AppConfig):
    name = "lantai.exhibits"
    label = "exhibits"
    verbose_name = "专题数据库与网上展厅"
