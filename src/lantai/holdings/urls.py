"""Staff pages of the holdings room (signed in)."""

from django.urls import path  # noqa: F401

app_name = "holdings"
urlpatterns: list = []
