from django.urls import path

from . import fleet_vm, views

urlpatterns = [
    path("", views.anatomy, name="anatomy"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/events.json", views.run_events, name="run-events"),
    path("runs/<int:run_id>/summary/", views.run_summary, name="run-summary"),
    path(
        "fleets/runs/<int:run_id>/vms/<str:vm>/anatomy/",
        fleet_vm.fleet_run_anatomy,
        name="fleet-run-anatomy",
    ),
]
