"""Staff pages of the appraisal room (signed in)."""

from django.urls import path  # noqa: F401

app_name = "appraisal"
urlpatterns: list = []
