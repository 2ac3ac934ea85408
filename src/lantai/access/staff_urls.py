"""The reading room's staff pages (查档申请, 利用登记), mounted at /reading-room/ in the staff site:
every one needs a signed-in user with the access.serve permission."""

from django.urls import path

from lantai.access import staff_views as views

app_name = "access_staff"
urlpatterns = [
    path("", views.request_list, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="request_action"),
    path("register/", views.register_list, name="register"),
    path("register/new/", views.register_create, name="register_create"),
    path("register.csv", views.register_csv, name="register_csv"),
]
