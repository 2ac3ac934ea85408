"""Mounted at /exhibits/exhibitions/ (the staff editor and the preview)."""

from django.urls import path

from lantai.exhibits import views_exhibitions as views

app_name = "exhibitions_staff"

urlpatterns = [
    path("", views.exhibition_list, name="list"),
    path("<int:pk>/", views.edit, name="edit"),
    path("<int:pk>/structure/", views.structure, name="structure"),
    path("<int:pk>/sections/<int:s>/pages/<int:p>/blocks/new/", views.block, name="block_add"),
    path("<int:pk>/sections/<int:s>/pages/<int:p>/blocks/<int:b>/", views.block, name="block_edit"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/recall/", views.recall, name="recall"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/restore/", views.restore, name="restore"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/preview/<slug:page_slug>/", views.preview, name="preview_page"),
]
