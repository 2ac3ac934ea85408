from django.urls import path

from . import views

app_name = "platform"
urlpatterns = [
    path("inbox", views.inbox, name="inbox"),
    path("join", views.join, name="join"),
    path("join/code", views.join_code, name="join_code"),
    path("members", views.member_list, name="members"),
]
