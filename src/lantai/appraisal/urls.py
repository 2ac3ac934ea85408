"""Staff pages of the appraisal room (signed in, APPRAISE), mounted at /appraisal/."""

from django.urls import path

from lantai.appraisal import views

app_name = "appraisal"
urlpatterns = [
    path("", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/propose/", views.propose, name="propose"),
    path("tasks/<int:pk>/decide/", views.decide, name="decide"),
    path("tasks/<int:pk>/close/", views.close, name="close"),
    path("tasks/<int:pk>/report/", views.report, name="report"),
    path("tasks/<int:pk>/report.pdf", views.report_pdf_view, name="report_pdf"),
    path("disposals/", views.disposal_list, name="disposals"),
    path("disposals/<int:pk>/", views.disposal_detail, name="disposal"),
    path("disposals/<int:pk>/approve/", views.disposal_approve, name="disposal_approve"),
    path("disposals/<int:pk>/cancel/", views.disposal_cancel, name="disposal_cancel"),
    path("disposals/<int:pk>/execute/", views.disposal_execute, name="disposal_execute"),
    path(
        "disposals/<int:pk>/request-again/",
        views.disposal_request_again,
        name="disposal_request_again",
    ),
    path("disposals/<int:pk>/list.pdf", views.disposal_list_pdf, name="disposal_list_pdf"),
    path("disposals/<int:pk>/report.pdf", views.disposal_report_pdf, name="disposal_report_pdf"),
]
