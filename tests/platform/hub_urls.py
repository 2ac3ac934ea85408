"""The site's URLs plus the hub's search pages as the lead mounts them in platform/urls.py."""

from django.urls import include, path

from lantai.platform import views_hub
from lantai.urls import urlpatterns as site

urlpatterns = [
    path("platform/search/", views_hub.search_page, name="hub_search"),
    path("platform/api/search", views_hub.search_api, name="hub_search_api"),
    *site,
]
if not any(str(p.pattern) == "oai" for p in site):  # until the lead mounts the provider
    urlpatterns.append(path("oai", include("lantai.interop.urls")))
