"""Public pages of the 专题数据库 (no sign-in), mounted at /public/databases/."""

from django.urls import path

from lantai.exhibits import views_public_databases as views

app_name = "public_databases"
urlpatterns = [
    path("", views.database_list, name="list"),
    path("<str:archives>/<slug:slug>/", views.database_page, name="database"),
    path("<str:archives>/<slug:slug>/timeline/", views.database_timeline, name="timeline"),
    path("<str:archives>/<slug:slug>/map/", views.database_map, name="map"),
    path("<str:archives>/<slug:slug>/records/<path:code>", views.database_record, name="record"),
]
