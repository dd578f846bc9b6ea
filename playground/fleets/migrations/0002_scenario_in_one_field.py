"""A fleet's scenario in one JSON field (``Fleet.scenario``), filled for every row with what the
export gave before (``fleet_to_scenario`` below, frozen here: a migration must not import app
code that changes). ``0003`` then drops the 40 columns that mirrored it and the
``MaintenanceEvent`` rows (a migration of their own: no schema change in the transaction that
updated the rows, which PostgreSQL may refuse).

Going back drops the field; the scenarios are not turned back into columns."""

from typing import Any

from django.db import migrations, models

# --- frozen copy of playground/fleets/fields.py (c30f2f5): a fleet and its events to a scenario ---

PERCENT_FIELDS = ("anti_affinity_share", "gpu_share", "spot_share", "terminate_share",
                  "watching_share", "automatic_restart_share")
POLICY_TEXT = ("downtime_limit", "max_bandwidth", "completion_timeout", "timeout_action")
POLICY_BOOL = ("auto_converge", "post_copy")
CAPS = {"per_source_host": "cap_per_source_host", "per_target_host": "cap_per_target_host",
        "per_rack": "cap_per_rack", "per_customer": "cap_per_customer", "global": "cap_global"}


def _share(pct: float) -> float:
    value = round(float(pct) / 100, 8)
    return int(value) if value in (0, 1) else value


def _number(value: float) -> int | float:
    return int(value) if float(value) == int(value) else value


def fleet_to_scenario(fleet, events) -> dict:
    extra = fleet.extra or {}
    group: dict[str, Any] = {"name": fleet.rack_prefix, "count": fleet.racks,
                             "hosts": fleet.hosts_per_rack}
    if fleet.uplink:
        group["uplink"] = fleet.uplink
    if extra.get("first_rack_host"):
        group["host"] = extra["first_rack_host"]
    zone: dict[str, Any] = {
        "zone": fleet.zone,
        "host": {"vcpus": fleet.host_vcpus, "memory": fleet.host_memory, "nic": fleet.host_nic},
        "oversubscription": _number(fleet.oversubscription),
        "racks": [group, *extra.get("more_racks", [])],
    }
    if fleet.spine:
        zone["spine"] = fleet.spine
    vms: dict[str, Any] = {
        "per_host": fleet.vms_per_host,
        "memory": [fleet.vm_memory_min, fleet.vm_memory_max],
        "vcpus": [fleet.vm_vcpus_min, fleet.vm_vcpus_max],
        "mix": {name: _share(pct) for name, pct in fleet.mix.items() if float(pct) > 0},
        "customers": fleet.customers,
        "anti_affinity_groups": fleet.anti_affinity_groups,
    }
    vms.update({name: _share(getattr(fleet, name)) for name in PERCENT_FIELDS})
    zone["vms"] = vms
    zone.update(extra.get("fleet", {}))  # vm_list
    policy: dict[str, Any] = {"name": fleet.policy}
    policy.update({k: getattr(fleet, k) for k in POLICY_TEXT if getattr(fleet, k)})
    policy.update({k: True for k in POLICY_BOOL if getattr(fleet, k)})
    policy.update({k: v for k, v in extra.get("policy", {}).items()
                   if not (k in POLICY_BOOL and getattr(fleet, k))})
    caps: dict[str, Any] = {key: getattr(fleet, field) for key, field in CAPS.items()
                            if getattr(fleet, field) is not None}
    caps["headroom"] = _share(fleet.headroom)
    network = {"migration_share": _share(fleet.migration_share), **extra.get("network", {})}
    scenario: dict[str, Any] = {"name": fleet.name}
    if fleet.description:
        scenario["description"] = fleet.description
    scenario.update({"seed": fleet.seed, "fleet": zone, "policy": policy, "caps": caps,
                     "network": network})
    for key in ("placement", "failures", "timing"):
        if key in extra:
            scenario[key] = extra[key]
    scenario["events"] = [event_to_scenario(ev) for ev in events]
    return scenario


def event_to_scenario(ev) -> dict:
    out: dict[str, Any] = {"name": ev.name, "kind": ev.kind}
    if ev.start:
        out["start"] = ev.start
    names = [n.strip() for n in (ev.scope_names or "").replace("\n", ",").split(",") if n.strip()]
    out["scope"] = {"zone": True} if ev.scope == "zone" else {ev.scope: names}
    for key in ("deadline", "host_downtime", "failure_after"):
        if getattr(ev, key):
            out[key] = getattr(ev, key)
    if ev.window_start or ev.window_end:
        out["window"] = {"start": ev.window_start, "end": ev.window_end}
    limit = (ev.max_hosts_in_maintenance or "").strip()
    if limit:
        out["max_hosts_in_maintenance"] = int(limit) if limit.isascii() and limit.isdigit() else limit
    return out


# --- the migration -------------------------------------------------------------------------------

def fill_scenarios(apps, schema_editor):
    Fleet = apps.get_model("fleets", "Fleet")
    MaintenanceEvent = apps.get_model("fleets", "MaintenanceEvent")
    for fleet in Fleet.objects.iterator():
        events = MaintenanceEvent.objects.filter(fleet=fleet).order_by("position", "id")
        fleet.scenario = fleet_to_scenario(fleet, list(events))
        fleet.save(update_fields=["scenario"])


class Migration(migrations.Migration):

    dependencies = [
        ("fleets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="fleet", name="scenario",
            field=models.JSONField(null=True, help_text="the engine's scenario (docs/fleet.md)"),
        ),
        migrations.RunPython(fill_scenarios, migrations.RunPython.noop),
    ]
