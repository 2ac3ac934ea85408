"""进馆档案质量: self-checks of filing units, per-unit quality figures, transfer early warning."""

from django.urls import path  # noqa: F401

app_name = "transfer_quality"
urlpatterns: list = []
