"""证明核验: the public verification page and the signed lists, mounted at /verify/ (no sign-in;
deployable on the public network with the portal)."""

from django.urls import path

from lantai.certificates import public_views

app_name = "verify"
urlpatterns = [
    path("", public_views.verify_page, name="page"),
    path("trust-list.json", public_views.trust_list_json, name="trust_list"),
    path("status-lists.json", public_views.status_lists_json, name="status_lists"),
]
