"""The public OAI-PMH endpoint, mounted at /oai (no sign-in)."""

from django.urls import path

from lantai.interop import views

app_name = "interop"
urlpatterns = [path("", views.oai_view, name="oai")]
