"""The site's URLs with the platform's staff pages at /platform/staff/, as the lead mounts them
(lantai/urls.py); used by tests/platform/test_web_*.py until then, and harmless after."""

from django.urls import include, path

from lantai.urls import urlpatterns as site

urlpatterns = list(site)
if not any(getattr(p, "namespace", None) == "platform_staff" for p in site):
    urlpatterns.insert(0, path("platform/staff/", include("lantai.platform.staff_urls")))
