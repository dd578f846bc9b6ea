"""Zones and racks in a fleet run's frames: what a viewer of a region needs to see it whole and
to drill down (zones, each with its racks summarised; one rack's hosts; one host's VMs).

Each rack's state is five counts, ``RACK_FIELDS``: hosts in a maintenance's scope, hosts done
with, draining, in maintenance, and migrations in flight out of it. A frame carries

- ``layout`` (the first frame only): the zones in rack order, each with its racks as
  ``[name, hosts]``, so a page draws its map without building the fleet;
- ``racks``: the racks whose state changed since the previous frame (every rack in the first),
  ``{name: [scope, done, draining, maintenance, migrating]}``: a region of 1,000 racks sends a
  few dozen a frame, not 1,000;
- ``zones``: each zone's racks summed, ``{zone: {"scope": .., "done": .., ...}}``.
"""

from __future__ import annotations

from .scenario import parse_scenario, rack_names_of

RACK_FIELDS = ("scope", "done", "draining", "maintenance", "migrating")


class ZoneTally:
    """Counts per rack, kept as the stream reads the engine's events; read once a frame."""

    def __init__(self, fleet):
        self.zones = fleet.zones
        self._zone_of_rack = {rack.name: rack.zone for rack in fleet.racks}
        self._racks = [(rack.name, len(rack.hosts)) for rack in fleet.racks]
        self.scope = dict.fromkeys(self._zone_of_rack, 0)
        self.done = dict.fromkeys(self._zone_of_rack, 0)
        self._sent: dict[str, list[int]] = {}
        self._first = True

    def layout(self) -> list[dict]:
        return [
            {
                "zone": zone,
                "racks": [
                    [name, hosts] for name, hosts in self._racks if self._zone_of_rack[name] == zone
                ],
            }
            for zone in self.zones
        ]

    def frame_part(self, open_hosts: dict, rack_of_host: dict, in_flight_by_rack: dict) -> dict:
        """``layout`` (first frame), ``racks`` (changed) and ``zones`` for a frame.
        ``open_hosts``: host -> (phase, start) of the hosts draining or in maintenance."""
        draining = dict.fromkeys(self._zone_of_rack, 0)
        maintenance = dict.fromkeys(self._zone_of_rack, 0)
        for host, (phase, _) in open_hosts.items():
            rack = rack_of_host[host]
            (draining if phase == "draining" else maintenance)[rack] += 1
        zones = {zone: dict.fromkeys(RACK_FIELDS, 0) for zone in self.zones}
        changed: dict[str, list[int]] = {}
        for rack, zone in self._zone_of_rack.items():
            state = [
                self.scope[rack],
                self.done[rack],
                draining[rack],
                maintenance[rack],
                int(in_flight_by_rack.get(rack, 0)),
            ]
            for field, value in zip(RACK_FIELDS, state, strict=True):
                zones[zone][field] += value
            if self._sent.get(rack) != state:
                changed[rack] = self._sent[rack] = state
        part = {"racks": changed, "zones": zones}
        if self._first:
            part["layout"] = self.layout()
            self._first = False
        return part


def racks_by_zone(data: dict, racks: list[dict]) -> list[dict]:
    """A summary's per-rack rows grouped by zone, in the scenario's order, each zone with its
    sums (hosts, VMs now, migrated out): what a results page shows of a region. Read from the
    scenario's rack groups, without building the fleet (nor reading a listed fleet's VMs:
    0.8 s a page view for 130,000 of them; the first VM stands in for the list)."""
    scenario = parse_scenario(racks_only(data))
    zone_of = dict(
        zip(
            rack_names_of(scenario.racks),
            (g.zone or scenario.zone for g in scenario.racks for _ in range(g.count)),
            strict=True,
        )
    )
    zones: dict[str, dict] = {}
    for row in racks:
        zone = zones.setdefault(
            zone_of.get(row["rack"], scenario.zone),
            {"hosts": 0, "vms_now": 0, "migrated_out": 0, "racks": []},
        )
        zone["racks"].append(row)
        for key in ("hosts", "vms_now", "migrated_out"):
            zone[key] += row.get(key) or 0
    return [{"zone": name, **zone} for name, zone in zones.items()]


def racks_only(data: dict) -> dict:
    """``data`` with a listed fleet's VMs cut to the first: the racks and zones are the same,
    and no rule reads a VM to refuse fewer of them (a scenario without a list: itself)."""
    fleet = data.get("fleet") if isinstance(data, dict) else None
    listed = fleet.get("vm_list") if isinstance(fleet, dict) else None
    if not isinstance(listed, list) or len(listed) <= 1:
        return data
    return {**data, "fleet": {**fleet, "vm_list": listed[:1]}}
