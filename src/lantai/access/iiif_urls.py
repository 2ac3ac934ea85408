"""The public IIIF Image API 3.0, mounted at /iiif/3/ (no sign-in; open records only, watermarked)."""

from django.urls import path

from lantai.access import iiif_views as views

app_name = "iiif_image"
urlpatterns = [
    path("<str:identifier>", views.public_base, name="base"),
    path("<str:identifier>/info.json", views.public_info, name="info"),
    path(
        "<str:identifier>/<str:region>/<str:size>/<str:rotation>/<str:quality_format>",
        views.public_image,
        name="image",
    ),
]
