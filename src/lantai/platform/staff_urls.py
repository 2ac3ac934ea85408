"""全区平台, the staff pages (signed in), mounted at /platform/staff/: the region-wide window
and the requests across archives (marriage.query), and the platform's operations page
(core.settings)."""

from django.urls import path

from . import views_ops, views_window

app_name = "platform_staff"
urlpatterns = [
    path("window/", views_window.find_page, name="window"),
    path("window/request/", views_window.send_request, name="window_request"),
    path("requests/", views_window.request_list, name="requests"),
    path("requests/<int:pk>/", views_window.request_detail, name="request"),
    path("requests/<int:pk>/certificate.pdf", views_window.request_pdf, name="request_pdf"),
    path("requests/<int:pk>/informed/", views_window.request_informed, name="request_informed"),
    path("requests/<int:pk>/answer/", views_window.request_answer, name="request_answer"),
    path("ops/", views_ops.ops_page, name="ops"),
    path("ops/verify-log/", views_ops.verify_log, name="ops_verify"),
]
