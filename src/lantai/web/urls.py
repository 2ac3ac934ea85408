from django.urls import path

from lantai.web.views import (
    admin,
    auth,
    browse,
    digitization,
    digitized,
    imports,
    records,
    search,
    storage,
    structure,
    transfers,
)

app_name = "web"
urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/password/", auth.password_change, name="password_change"),
    path("", browse.home, name="home"),
    # 跨全宗、跨门类检索
    path("search/", search.search, name="search"),
    path("search/suggest.json", search.suggest, name="search_suggest"),
    # browse: repository → fonds → category → year → records
    path("browse/", browse.browse, name="browse"),
    path("browse/fonds/<int:pk>/", browse.fonds_detail, name="fonds"),
    path("browse/category/<int:pk>/", browse.category_detail, name="category"),
    path("browse/category/<int:pk>/records/", browse.record_list, name="records"),
    path("browse/category/<int:pk>/export/", browse.export, name="export"),
    path("browse/category/<int:pk>/new/", records.record_create, name="record_create"),
    path("records/<int:pk>/", records.record_detail, name="record"),
    path("browse/category/<int:pk>/gaps/", structure.category_gaps, name="category_gaps"),
    path("records/<int:pk>/edit/", records.record_edit, name="record_edit"),
    path("records/<int:pk>/delete/", records.record_delete, name="record_delete"),
    path("records/<int:pk>/components/", records.component_upload, name="component_upload"),
    path(
        "records/<int:pk>/collections/",
        records.record_add_to_collection,
        name="record_add_to_collection",
    ),
    path("components/<int:pk>/download/", records.component_download, name="component_download"),
    # archival structure: 档案馆, 全宗, 门类, 档号 rules
    path("structure/", structure.structure, name="structure"),
    path("structure/repositories/new/", structure.repository_create, name="repository_create"),
    path(
        "structure/repositories/<int:pk>/default/",
        structure.repository_default,
        name="repository_default",
    ),
    path("structure/fonds/new/", structure.fonds_create, name="fonds_create"),
    path(
        "browse/fonds/<int:pk>/categories/new/", structure.category_create, name="category_create"
    ),
    path("structure/code-rules/new/", structure.code_rule_create, name="code_rule_create"),
    # thematic collections (专题数据库)
    path("collections/", structure.collection_list, name="collections"),
    path("collections/new/", structure.collection_create, name="collection_create"),
    path("collections/<int:pk>/", structure.collection_detail, name="collection"),
    # import wizard
    path("import/", imports.upload, name="import_upload"),
    path("import/<str:token>/mapping/", imports.mapping, name="import_mapping"),
    path("import/<str:token>/preview/", imports.preview, name="import_preview"),
    path("import/<str:token>/run/", imports.run, name="import_run"),
    path("imports/", imports.batch_list, name="imports"),
    path("imports/<int:pk>/", imports.result, name="import_result"),
    path("imports/<int:pk>/progress/", imports.progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", imports.error_report, name="import_errors"),
    # 收: transfers, the 四性检测 report, accept / return / resubmit
    path("transfers/", transfers.transfer_list, name="transfers"),
    path("transfers/new/", transfers.transfer_create, name="transfer_create"),
    path("transfers/inbox/", transfers.transfer_inbox, name="transfer_inbox"),
    path("transfers/uploads/", transfers.upload_start, name="transfer_upload_start"),
    path("transfers/uploads/<str:token>/", transfers.upload_chunk, name="transfer_upload"),
    path("transfers/<int:pk>/", transfers.transfer_detail, name="transfer"),
    path("transfers/<int:pk>/progress/", transfers.transfer_progress, name="transfer_progress"),
    path(
        "transfers/<int:pk>/v<int:number>/report/",
        transfers.transfer_report,
        name="transfer_report",
    ),
    path(
        "transfers/<int:pk>/v<int:number>/report.pdf",
        transfers.transfer_report_pdf,
        name="transfer_report_pdf",
    ),
    path(
        "transfers/<int:pk>/v<int:number>/register.pdf",
        transfers.transfer_register_pdf,
        name="transfer_register_pdf",
    ),
    path("transfers/<int:pk>/accept/", transfers.transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/return/", transfers.transfer_return, name="transfer_return"),
    path("transfers/<int:pk>/resubmit/", transfers.transfer_resubmit, name="transfer_resubmit"),
    # 数字化: scanning batches, DA/T 31 report, 抽检, accept / return, page images, viewer, OCR
    path("digitization/", digitization.batch_list, name="digitization_batches"),
    path("digitization/new/", digitization.batch_create, name="digitization_create"),
    path("digitization/inbox/", digitization.batch_inbox, name="digitization_inbox"),
    path("digitization/<int:pk>/", digitization.batch_detail, name="digitization_batch"),
    path(
        "digitization/<int:pk>/progress/",
        digitization.batch_progress,
        name="digitization_progress",
    ),
    path("digitization/<int:pk>/report/", digitization.batch_report, name="digitization_report"),
    path(
        "digitization/<int:pk>/report.pdf",
        digitization.batch_report_pdf,
        name="digitization_report_pdf",
    ),
    path("digitization/<int:pk>/inspect/", digitization.batch_inspect, name="digitization_inspect"),
    path("digitization/<int:pk>/accept/", digitization.batch_accept, name="digitization_accept"),
    path("digitization/<int:pk>/return/", digitization.batch_return, name="digitization_return"),
    path("digitization/<int:pk>/recheck/", digitization.batch_recheck, name="digitization_recheck"),
    path(
        "digitization/<int:pk>/corrections/",
        digitized.batch_corrections,
        name="digitization_corrections",
    ),
    path("pages/<int:pk>/image/", digitized.page_image, name="page_image"),
    path("pages/<int:pk>/correct/", digitized.page_correct, name="digitization_correct"),
    path("records/<int:pk>/pages/", digitized.record_pages, name="record_pages"),
    path("records/<int:pk>/pages.pdf", digitized.record_pdf, name="record_pages_pdf"),
    path("recordings/<int:pk>/segments/", digitized.segment_add, name="recording_segment_add"),
    path("recordings/<int:pk>/<str:which>/", digitized.recording_file, name="recording_file"),
    # 存: storage dashboard, locations, packages, verification, two-person deletion
    path("storage/", storage.dashboard, name="storage"),
    path("storage/check/", storage.check_locations, name="storage_check"),
    path("storage/audit/", storage.audit_now, name="storage_audit"),
    path("storage/alerts/<int:pk>/resolve/", storage.alert_resolve, name="storage_alert_resolve"),
    path("storage/locations/", storage.location_list, name="storage_locations"),
    path("storage/packages/", storage.package_list, name="storage_packages"),
    path("storage/packages/<int:pk>/", storage.package_detail, name="storage_package"),
    path(
        "storage/packages/<int:pk>/verify/", storage.package_verify, name="storage_package_verify"
    ),
    path(
        "storage/packages/<int:pk>/longterm/",
        storage.package_check,
        name="storage_package_check",
    ),
    path(
        "storage/packages/<int:pk>/delete/",
        storage.deletion_request,
        name="storage_deletion_request",
    ),
    path(
        "storage/deletions/<int:pk>/decide/",
        storage.deletion_decide,
        name="storage_deletion_decide",
    ),
    # 长期保存检测 (DA/T 70 长期保存环节)
    path("storage/checks/", storage.check_list, name="storage_checks"),
    path("storage/checks/run/", storage.check_run, name="storage_checks_run"),
    path("storage/checks/<int:pk>/", storage.check_report, name="storage_check_report"),
    # administrators
    path("audit/", admin.audit_log, name="audit"),
    path("audit/verify/", admin.audit_verify, name="audit_verify"),
    path("audit/export.csv", admin.audit_export, name="audit_export"),
    path("users/", admin.users, name="users"),
    path("users/new/", admin.user_create, name="user_create"),
    path("users/<int:pk>/active/", admin.user_active, name="user_active"),
    path("users/<int:pk>/password/", admin.user_password, name="user_password"),
    path("users/changes/", admin.account_changes, name="account_changes"),
    path(
        "users/changes/<int:pk>/decide/",
        admin.account_change_decide,
        name="account_change_decide",
    ),
    path("grants/", admin.grants, name="grants"),
    path("grants/<int:pk>/", admin.grant_edit, name="grant_edit"),
]
