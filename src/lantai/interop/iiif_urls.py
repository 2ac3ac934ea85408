"""IIIF Presentation 3.0 and Content Search 2.0 (public, no sign-in), mounted at /iiif/ after the
Image API's /iiif/3/. The 档号 and 全宗号 are path segments that may hold "/" (path converter)."""

from django.urls import path

from lantai.interop import iiif_views

app_name = "iiif_presentation"
urlpatterns = [
    path(
        "manifest/<str:archives_code>/<path:reference_code>",
        iiif_views.manifest,
        name="manifest",
    ),
    path(
        "collection/fonds/<str:archives_code>/<path:fonds_code>",
        iiif_views.fonds_collection,
        name="fonds_collection",
    ),
    path("search/<str:archives_code>/<path:reference_code>", iiif_views.search, name="search"),
]
