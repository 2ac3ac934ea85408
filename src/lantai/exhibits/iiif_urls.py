"""IIIF Presentation 3.0 collections of the published databases and exhibitions (public), mounted
at /iiif/collection/ beside the fonds collections of `lantai.interop.iiif_urls`."""

from django.urls import path

from lantai.exhibits import views_public_databases

app_name = "iiif_exhibits"
urlpatterns = [
    path(
        "database/<str:archives>/<slug:slug>",
        views_public_databases.database_iiif_collection,
        name="database",
    ),
]
