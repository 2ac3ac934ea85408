"""/healthz, /readyz and /metrics (lantai.ops.health, lantai.ops.metrics)."""

from django.urls import path  # noqa: F401

app_name = "ops"
urlpatterns: list = []
