from django.urls import path

from lantai.web.views import admin, auth, browse, imports, records

app_name = "web"
urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("", browse.home, name="home"),
    # browse: repository → fonds → category → year → records
    path("browse/", browse.browse, name="browse"),
    path("browse/fonds/<int:pk>/", browse.fonds_detail, name="fonds"),
    path("browse/category/<int:pk>/", browse.category_detail, name="category"),
    path("browse/category/<int:pk>/records/", browse.record_list, name="records"),
    path("browse/category/<int:pk>/export/", browse.export, name="export"),
    path("browse/category/<int:pk>/new/", records.record_create, name="record_create"),
    path("records/<int:pk>/", records.record_detail, name="record"),
    path("records/<int:pk>/edit/", records.record_edit, name="record_edit"),
    # import wizard
    path("import/", imports.upload, name="import_upload"),
    path("import/<str:token>/mapping/", imports.mapping, name="import_mapping"),
    path("import/<str:token>/preview/", imports.preview, name="import_preview"),
    path("import/<str:token>/run/", imports.run, name="import_run"),
    path("imports/", imports.batch_list, name="imports"),
    path("imports/<int:pk>/", imports.result, name="import_result"),
    path("imports/<int:pk>/progress/", imports.progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", imports.error_report, name="import_errors"),
    # administrators
    path("audit/", admin.audit_log, name="audit"),
    path("audit/verify/", admin.audit_verify, name="audit_verify"),
    path("users/", admin.users, name="users"),
    path("users/new/", admin.user_create, name="user_create"),
    path("users/<int:pk>/active/", admin.user_active, name="user_active"),
    path("users/<int:pk>/password/", admin.user_password, name="user_password"),
    path("grants/", admin.grants, name="grants"),
    path("grants/<int:pk>/", admin.grant_edit, name="grant_edit"),
]
