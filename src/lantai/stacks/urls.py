"""Staff pages of the stacks room (signed in)."""

from django.urls import path  # noqa: F401

app_name = "stacks"
urlpatterns: list = []
