from django.urls import path

from . import views, views_hub

app_name = "platform"
urlpatterns = [
    path("inbox", views.inbox, name="inbox"),
    path("join", views.join, name="join"),
    path("members", views.member_list, name="members"),
    path("search/", views_hub.search_page, name="hub_search"),  # the hub's public search
    path("api/search", views_hub.search_api, name="hub_search_api"),
]
