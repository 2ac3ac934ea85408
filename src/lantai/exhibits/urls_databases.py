"""Staff pages of the 专题数据库 (signed in, exhibits.curate), mounted at /exhibits/databases/."""

from django.urls import path

from lantai.exhibits import views_databases as views

app_name = "exhibit_databases"
urlpatterns = [
    path("", views.database_list, name="list"),
    path("new/", views.database_create, name="create"),
    path("<int:pk>/", views.database_detail, name="detail"),
    path("<int:pk>/edit/", views.database_edit, name="edit"),
    path("<int:pk>/fields/", views.database_fields, name="fields"),
    path("<int:pk>/add/", views.database_add, name="add"),
    path("<int:pk>/search/", views.database_search_add, name="search_add"),
    path("<int:pk>/rule/", views.database_rule, name="rule"),
    path("<int:pk>/remove/", views.database_remove, name="remove"),
    path("<int:pk>/publish/", views.database_publish, name="publish"),
    path("<int:pk>/records/<int:record_id>/", views.entry_edit, name="entry"),
    path("<int:pk>/records/<int:record_id>/condition/", views.condition_add, name="condition"),
    path("<int:pk>/records/<int:record_id>/action/", views.action_add, name="action"),
]
