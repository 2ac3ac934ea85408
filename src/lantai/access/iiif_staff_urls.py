"""The staff IIIF Image API 3.0, mounted at /reading-room/iiif/3/ (signed in; any page image of a
record the user may see, without the public watermark)."""

from django.urls import path

from lantai.access import iiif_views as views

app_name = "iiif_image_staff"
urlpatterns = [
    path("<str:identifier>", views.staff_base, name="base"),
    path("<str:identifier>/info.json", views.staff_info, name="info"),
    path(
        "<str:identifier>/<str:region>/<str:size>/<str:rotation>/<str:quality_format>",
        views.staff_image,
        name="image",
    ),
]
