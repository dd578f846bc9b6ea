"""A ``Fleet`` (and its maintenance events) to the engine's scenario dict and back: plain data,
no simulator import. Shares are stored as percents (what the form shows) and written back as
0..1; text values (sizes, rates, durations) are kept as typed. What the form does not model
(extra rack groups, an explicit VM list, placement, failures, timing, other policy and network
keys) lives in ``Fleet.extra`` and is written back verbatim, so import then export gives the same
scenario."""

from __future__ import annotations

from typing import Any

PERCENT_FIELDS = ("anti_affinity_share", "gpu_share", "spot_share", "terminate_share",
                  "watching_share", "automatic_restart_share")
POLICY_TEXT = ("downtime_limit", "max_bandwidth", "completion_timeout", "timeout_action")
POLICY_BOOL = ("auto_converge", "post_copy")
CAPS = {"per_source_host": "cap_per_source_host", "per_target_host": "cap_per_target_host",
        "per_rack": "cap_per_rack", "per_customer": "cap_per_customer", "global": "cap_global"}
EVENT_TEXT = ("start", "deadline", "host_downtime", "failure_after")
# the engine's defaults when a key is absent (docs/fleet.md)
DEFAULTS = {
    "host_vcpus": 64, "host_memory": "256GiB", "host_nic": "10Gbit/s", "oversubscription": 1.0,
    "vms_per_host": 8, "vm_memory": ["1GiB", "16GiB"], "vm_vcpus": [1, 8], "mix": {"web": 1.0},
    "customers": 20, "anti_affinity_groups": 0, "anti_affinity_share": 0.0, "gpu_share": 0.0,
    "spot_share": 0.0, "terminate_share": 0.0, "watching_share": 0.0,
    "automatic_restart_share": 1.0, "migration_share": 0.5, "zone": "zone-a",
}


def _pct(share: Any) -> float:
    return round(float(share) * 100, 6)


def _share(pct: float) -> float:
    value = round(float(pct) / 100, 8)
    return int(value) if value in (0, 1) else value


def _number(value: float) -> int | float:
    return int(value) if float(value) == int(value) else value


def _whole(value: Any) -> int:
    """A whole number as the engine reads one: ``2``, ``2.0`` and ``"2"`` are all 2."""
    return int(float(value))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _pair(value: Any) -> list:
    return list(value) if isinstance(value, list) and len(value) == 2 else [value, value]


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


def scenario_to_fields(data: dict) -> tuple[dict, list[dict]]:
    """A (valid) scenario dict to ``Fleet`` field values and ``MaintenanceEvent`` field values."""
    zone = dict(data.get("fleet") or {})
    host = zone.get("host") or {}
    racks = list(zone.get("racks") or [{}])
    first = dict(racks[0])
    vms = zone.get("vms") or {}
    d = DEFAULTS
    memory = _pair(vms.get("memory", d["vm_memory"]))
    vcpus = _pair(vms.get("vcpus", d["vm_vcpus"]))
    policy = {k.replace("-", "_"): v for k, v in (data.get("policy") or {"name": "qemu"}).items()}
    policy_name = policy.pop("name", policy.pop("policy", "qemu"))
    caps = data.get("caps") or {}
    network = dict(data.get("network") or {})
    extra: dict[str, Any] = {}
    if first.get("host"):
        extra["first_rack_host"] = first["host"]
    if len(racks) > 1:
        extra["more_racks"] = racks[1:]
    if zone.get("vm_list") is not None:
        extra["fleet"] = {"vm_list": zone["vm_list"]}
    other_policy = {k: v for k, v in policy.items() if k not in POLICY_TEXT + POLICY_BOOL}
    for key in POLICY_BOOL:  # an explicit "false" is kept as typed
        if key in policy and not policy[key]:
            other_policy[key] = policy[key]
    if other_policy:
        extra["policy"] = other_policy
    migration_share = network.pop("migration_share", d["migration_share"])
    if network:
        extra["network"] = network
    for key in ("placement", "failures", "timing"):
        if key in data:
            extra[key] = data[key]
    fields = {
        "name": _text(data.get("name", "scenario")),
        "description": _text(data.get("description", "")).strip(),
        "seed": _whole(data.get("seed", 1)),
        "zone": _text(zone.get("zone", d["zone"])),
        "rack_prefix": _text(first.get("name", "rack")),
        "racks": _whole(first.get("count", 1)),
        "hosts_per_rack": _whole(first.get("hosts", 1)),
        "host_vcpus": _whole(host.get("vcpus", d["host_vcpus"])),
        "host_memory": _text(host.get("memory", d["host_memory"])),
        "host_nic": _text(host.get("nic", d["host_nic"])),
        "uplink": _text(first.get("uplink", "")),
        "oversubscription": float(zone.get("oversubscription", d["oversubscription"])),
        "spine": _text(zone.get("spine", "")),
        "migration_share": _pct(migration_share),
        "vms_per_host": _whole(vms.get("per_host", d["vms_per_host"])),
        "vm_memory_min": _text(memory[0]), "vm_memory_max": _text(memory[1]),
        "vm_vcpus_min": _whole(vcpus[0]), "vm_vcpus_max": _whole(vcpus[1]),
        "mix": {name: _pct(share) for name, share in (vms.get("mix") or d["mix"]).items()},
        "customers": _whole(vms.get("customers", d["customers"])),
        "anti_affinity_groups": _whole(vms.get("anti_affinity_groups", d["anti_affinity_groups"])),
        "policy": _text(policy_name),
        "auto_converge": bool(policy.get("auto_converge", False)),
        "post_copy": bool(policy.get("post_copy", False)),
        "headroom": _pct(caps.get("headroom", 0.0)),
        "extra": extra,
    }
    fields.update({name: _pct(vms.get(name, d[name])) for name in PERCENT_FIELDS})
    fields.update({k: _text(policy.get(k, "")) for k in POLICY_TEXT})
    fields.update({field: None if caps.get(key) is None else _whole(caps[key])
                   for key, field in CAPS.items()})
    for key in ("per_source_host", "per_target_host"):
        if caps.get(key) is None:
            fields[CAPS[key]] = 2  # the engine's default
    events = []
    for ev in data.get("events") or []:
        scope = ev.get("scope") or {}
        kind = "zone" if scope.get("zone") else "racks" if scope.get("racks") else "hosts"
        window = ev.get("window") or {}
        events.append({
            "name": _text(ev.get("name", ev.get("kind", "event"))), "kind": ev.get("kind"),
            "start": _text(ev.get("start", "0s")), "scope": kind,
            "scope_names": ", ".join(str(n) for n in scope.get(kind, [])) if kind != "zone" else "",
            "deadline": _text(ev.get("deadline", "")),
            "window_start": _text(window.get("start", "")), "window_end": _text(window.get("end", "")),
            "max_hosts_in_maintenance": _text(ev.get("max_hosts_in_maintenance", "")),
            "host_downtime": _text(ev.get("host_downtime", "")),
            "failure_after": _text(ev.get("failure_after", "")),
        })
    return fields, events
