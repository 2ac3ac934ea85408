"""The public portal's URL tree, mounted at /public/ (no sign-in; deployable on its own network)."""

from django.urls import path

from lantai.access import views

app_name = "access"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("suggest.json", views.suggest, name="suggest"),
    path("records/<int:pk>/", views.record, name="record"),
    # the stable address of a record: its archives' code and its 档号 (which may hold "/")
    path("archives/<str:archives>/<path:code>/", views.record_by_code, name="record_by_code"),
    path("content/<int:pk>/page.jpg", views.image, name="image"),
    path("content/<int:pk>/document.pdf", views.pdf, name="pdf"),
    path("records/<int:pk>/open-copy.pdf", views.open_copy, name="open_copy"),
    path("recordings/<int:pk>/media", views.recording_media, name="recording_media"),
    path("recordings/<int:pk>/poster.jpg", views.recording_poster, name="recording_poster"),
    path("request/", views.request_form, name="request"),
    path("request/done/", views.request_done, name="request_done"),
    path("status/", views.status, name="status"),
]
