"""/healthz, /readyz and /metrics (lantai.ops.health, lantai.ops.metrics): no sign-in, no
session, no CSRF (GET only), not rate-limited (the load balancer and Prometheus poll them)."""

from django.urls import path
from django.views.decorators.http import require_GET

from lantai.ops import health, metrics

app_name = "ops"
urlpatterns = [
    path("healthz", require_GET(health.healthz), name="healthz"),
    path("readyz", require_GET(health.readyz), name="readyz"),
    path("metrics", require_GET(metrics.metrics_view), name="metrics"),
]
