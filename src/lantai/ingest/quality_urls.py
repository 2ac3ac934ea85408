"""进馆档案质量: self-checks of filing units, per-unit quality figures, transfer early warning."""

from django.urls import path

from lantai.ingest import quality_models  # noqa: F401  (the models, until models.py imports them)
from lantai.ingest import quality_views as v

app_name = "transfer_quality"
urlpatterns = [
    path("", v.home, name="home"),
    path("self-check/", v.self_check_new, name="self_check_new"),
    path("self-check/<int:pk>/", v.self_check_detail, name="self_check"),
    path("due/", v.due_list, name="due"),
    path("units/<int:pk>/", v.unit_detail, name="unit"),
    path("units/<int:pk>/remind/", v.remind, name="remind"),
    path("units/<int:pk>/visits/", v.visit_add, name="visit_add"),
    path("units/<int:pk>/profile/", v.profile, name="profile"),
    path("visits/", v.visit_list, name="visits"),
    path("visits/<int:pk>/follow-up/", v.visit_follow_up, name="visit_follow_up"),
]
