from django.apps import AppConfig


class AppraisalConfig(AppConfig):
    name = "lantai.appraisal"
    label = "appraisal"
    verbose_name = "鉴定与销毁"
