"""Staff pages of the stacks room (signed in): /stacks/…"""

from django.urls import path

from . import views

app_name = "stacks"
urlpatterns = [
    path("", views.home, name="home"),
    path("buildings/new/", views.building_create, name="building_create"),
    path("rooms/new/", views.room_create, name="room_create"),
    path("rooms/<int:pk>/", views.room, name="room"),
    path("rooms/<int:pk>/readings/", views.room_reading, name="room_reading"),
    path("rooms/<int:pk>/climate/", views.room_climate, name="room_climate"),
    path("rooms/<int:pk>/shelves/new/", views.shelf_create, name="shelf_create"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("shelves/<int:pk>/", views.shelf, name="shelf"),
    path("shelves/<int:pk>/boxes/new/", views.box_create, name="box_create"),
    path("boxes/<int:pk>/", views.box, name="box"),
    path("boxes/<int:pk>/place/", views.box_place, name="box_place"),
    path("boxes/<int:pk>/remove/", views.box_remove, name="box_remove"),
    path("boxes/<int:pk>/move/", views.box_move, name="box_move"),
    path("boxes/<int:pk>/lend/", views.box_lend, name="box_lend"),
    path("boxes/<int:pk>/lend-unit/", views.unit_lend, name="unit_lend"),
    path("loans/<int:pk>/return/", views.loan_return, name="loan_return"),
    path("census/", views.census_list, name="census_list"),
    path("census/new/", views.census_start, name="census_start"),
    path("census/<int:pk>/", views.census, name="census"),
    path("census/boxes/<int:pk>/count/", views.census_count, name="census_count"),
    path(
        "census/discrepancies/<int:pk>/resolve/",
        views.discrepancy_resolve,
        name="discrepancy_resolve",
    ),
    path("readings/import/", views.readings_import, name="readings_import"),
    path("readings/imports/<int:pk>/", views.readings_import_result, name="readings_import_result"),
    path("locate/", views.locate, name="locate"),
]
