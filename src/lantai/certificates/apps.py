from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "lantai.certificates"
    label = "certificates"
    verbose_name = "出证"
