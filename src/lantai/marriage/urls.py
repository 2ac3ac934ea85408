"""婚姻档案 and 出证, the staff pages, mounted at /marriage/: the counter (marriage.query), the
certificates and records, and the marriage archivist's pages (marriage.manage)."""

from django.urls import path

from . import views_admin, views_counter, views_records

app_name = "marriage"
urlpatterns = [
    path("", views_counter.counter, name="counter"),
    path("certify/", views_counter.certify_records, name="certify_records"),
    path("certify/none-found/", views_counter.certify_none, name="certify_none"),
    path("certificates/", views_records.certificate_list, name="certificates"),
    path("certificates/<str:number>/", views_records.certificate_detail, name="certificate"),
    path("certificates/<str:number>/pdf/", views_records.certificate_pdf, name="certificate_pdf"),
    path("certificates/<str:number>/ofd/", views_records.certificate_ofd, name="certificate_ofd"),
    path(
        "certificates/<str:number>/revoke/",
        views_records.certificate_revoke,
        name="certificate_revoke",
    ),
    path(
        "certificates/<str:number>/confirm/",
        views_records.certificate_confirm,
        name="certificate_confirm",
    ),
    path("records/<int:pk>/", views_records.record_detail, name="record"),
    path("records/<int:pk>/full-id/", views_records.record_full_id, name="record_full_id"),
    path("import/", views_admin.import_upload, name="import"),
    path("import/<int:pk>/", views_admin.import_run, name="import_run"),
    path("rules/", views_admin.rules_view, name="rules"),
    path("rules/<int:number>/", views_admin.rules_version, name="rules_version"),
    path("queries/", views_admin.query_log, name="queries"),
    path("keys/", views_admin.key_list, name="keys"),
    path("keys/create/", views_admin.key_create, name="key_create"),
    path("keys/rotate/", views_admin.key_rotate, name="key_rotate"),
    path("keys/<str:key_id>/withdraw/", views_admin.key_withdraw, name="key_withdraw"),
    path("keys/trust-list.json", views_admin.trust_list_json, name="trust_list"),
    path("keys/status-list/<str:code>.json", views_admin.status_list_json, name="status_list"),
]
