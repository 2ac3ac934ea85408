"""Staff downloads of interop (signed in), mounted at /interop/."""

from django.urls import path

from lantai.interop import views

app_name = "interop_staff"
urlpatterns = [path("fonds/<int:pk>/ead.xml", views.fonds_ead, name="fonds_ead")]
