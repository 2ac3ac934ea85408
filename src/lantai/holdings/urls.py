"""Staff pages of the holdings room (signed in): 征集 — accessions, donors, campaigns."""

from django.urls import path

from . import views

app_name = "holdings"
urlpatterns = [
    path("", views.accession_list, name="accessions"),
    path("accessions/new/", views.accession_new, name="accession_new"),
    path("accessions/<int:pk>/", views.accession_detail, name="accession"),
    path("accessions/<int:pk>/edit/", views.accession_edit, name="accession_edit"),
    path("accessions/<int:pk>/status/", views.accession_status, name="accession_status"),
    path("accessions/<int:pk>/restrictions/", views.restriction_add, name="restriction_add"),
    path(
        "accessions/<int:pk>/restrictions/<int:rpk>/end/",
        views.restriction_end,
        name="restriction_end",
    ),
    path("accessions/<int:pk>/records/", views.records_link, name="records_link"),
    path("accessions/<int:pk>/records/unlink/", views.records_unlink, name="records_unlink"),
    path("accessions/<int:pk>/items/", views.item_add, name="item_add"),
    path("accessions/<int:pk>/items/<int:ipk>/", views.item_edit, name="item_edit"),
    path("accessions/<int:pk>/documents/", views.document_issue, name="document_issue"),
    path("accessions/<int:pk>/documents/<str:kind>.pdf", views.document_pdf, name="document_pdf"),
    path("donors/", views.donor_list, name="donors"),
    path("donors/new/", views.donor_new, name="donor_new"),
    path("donors/<int:pk>/", views.donor_detail, name="donor"),
    path("donors/<int:pk>/edit/", views.donor_edit, name="donor_edit"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
]
