"""Mounted at /public/exhibitions/ (the hall, an exhibition, its pages)."""

from django.urls import path

from lantai.exhibits import views_public_exhibitions as views

app_name = "exhibitions"

urlpatterns = [
    path("", views.hall, name="hall"),
    path("<slug:slug>/", views.cover, name="cover"),
    path("<slug:slug>/<slug:page_slug>/", views.page, name="page"),
]
