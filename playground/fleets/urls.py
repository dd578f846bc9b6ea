from django.urls import path

from . import exports, run_views, sweep_views
from . import views as v

urlpatterns = [
    path("", v.fleet_list, name="fleet-list"),
    path("from-preset/", v.fleet_from_preset, name="fleet-from-preset"),
    path("import/", v.fleet_import, name="fleet-import"),
    path("new/", v.fleet_new, name="fleet-new"),
    path("new/event/", v.fleet_event_form, name="fleet-event-form"),
    path("<int:fleet_id>/", v.fleet_edit, name="fleet-edit"),
    path("<int:fleet_id>/scenario.<str:fmt>", exports.fleet_export, name="fleet-export"),
    path("<int:fleet_id>/delete/", v.fleet_delete, name="fleet-delete"),
    path("<int:fleet_id>/plan/", v.fleet_plan, name="fleet-plan"),
    path("<int:fleet_id>/plan/status/", v.fleet_plan_status, name="fleet-plan-status"),
    path("<int:fleet_id>/sweep/", sweep_views.sweep_new, name="sweep-new"),
    path("runs/", run_views.fleet_runs, name="fleet-runs"),
    path("runs/compare/", run_views.fleet_compare, name="fleet-compare"),
    path("runs/<int:run_id>/", run_views.fleet_run, name="fleet-run"),
    path("runs/<int:run_id>/results/", run_views.fleet_run_results, name="fleet-run-results"),
    path(
        "runs/<int:run_id>/messages.json", run_views.fleet_run_messages, name="fleet-run-messages"
    ),
    path(
        "runs/<int:run_id>/timeline.json", run_views.fleet_run_timeline, name="fleet-run-timeline"
    ),
    path("runs/<int:run_id>/vms.csv", exports.fleet_run_vms_csv, name="fleet-run-vms-csv"),
    path(
        "runs/<int:run_id>/summary.json", exports.fleet_run_summary_json, name="fleet-run-summary"
    ),
    path("runs/<int:run_id>/events.jsonl", exports.fleet_run_events_jsonl, name="fleet-run-events"),
    path(
        "runs/<int:run_id>/scenario.<str:fmt>",
        exports.fleet_run_scenario,
        name="fleet-run-scenario",
    ),
    path("sweeps/<int:sweep_id>/", sweep_views.sweep_detail, name="sweep-detail"),
    path("sweeps/<int:sweep_id>/results.json", sweep_views.sweep_results, name="sweep-results"),
]
