"""Django admin for fleets, their runs and sweeps (``/admin/``). A fleet's scenario is edited
as JSON and checked by the engine (``Fleet.clean``)."""

from django.contrib import admin

from .models import Fleet, FleetRun, FleetRunMessage, FleetRunVm, Sweep


@admin.register(Fleet)
class FleetAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "source", "host_count", "vm_count", "updated")
    search_fields = ("scenario__name", "source")
    raw_id_fields = ("owner",)


@admin.register(FleetRun)
class FleetRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "status",
        "owner",
        "attempts",
        "worker",
        "heartbeat_at",
        "seed",
        "fleet",
        "sweep",
        "created",
        "finished",
    )
    list_filter = ("status",)
    raw_id_fields = ("fleet", "sweep", "owner")
    readonly_fields = ("scenario_key", "outline", "listed_key")  # (follow the scenario: save)


@admin.register(FleetRunMessage)
class FleetRunMessageAdmin(admin.ModelAdmin):
    list_display = ("run", "seq", "kind")
    raw_id_fields = ("run",)


@admin.register(FleetRunVm)
class FleetRunVmAdmin(admin.ModelAdmin):
    list_display = ("run", "name", "host", "rack", "outcome")
    list_filter = ("outcome",)
    search_fields = ("name", "host")
    raw_id_fields = ("run",)


@admin.register(Sweep)
class SweepAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "x_param", "y_param", "metric", "created")
    raw_id_fields = ("fleet", "owner")
