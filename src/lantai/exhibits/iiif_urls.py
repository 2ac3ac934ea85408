"""IIIF Presentation 3.0 collections of the published databases and exhibitions (public), mounted
at /iiif/collection/ beside the fonds collections of `lantai.interop.iiif_urls`."""

from django.urls import path

from lantai.exhibits import iiif_collections

app_name = "iiif_exhibits"
urlpatterns = [
    path("database/<str:archives>/<slug:slug>", iiif_collections.database, name="database"),
    path("exhibition/<slug:slug>", iiif_collections.exhibition, name="exhibition"),
]
