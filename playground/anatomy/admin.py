"""Django admin for the single-VM runs and the form's scenarios (``/admin/``)."""

from django.contrib import admin

from .models import Run, RunEvent, Scenario


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "owner",
        "attempts",
        "worker",
        "heartbeat_at",
        "seed",
        "created",
        "finished",
    )
    list_filter = ("status",)
    raw_id_fields = ("owner",)


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ("run", "seq", "kind")
    list_filter = ("kind",)
    raw_id_fields = ("run",)


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "position")
