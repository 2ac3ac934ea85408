"""Staff pages of the stats room (signed in), mounted at /stats/."""

from django.urls import path

from . import views

app_name = "stats_staff"
urlpatterns = [
    path("", views.report, name="report"),
    path("export.xlsx", views.export_xlsx, name="export"),
]
