"""A lesson on a small fleet: a rack evacuated, planned by the engine (``fleet.plan``), and the
binding limit it names by re-running the plan with each limit relaxed (``fleet.binding``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrationsim.fleet.binding import relaxations, signed_pct
from migrationsim.fleet.plan import plan
from migrationsim.fleet.scenario import parse_scenario

from .base import Choice, Lesson, Outcome, bytes_, count, duration

# The binding limit's names (``binding.CONSTRAINTS``) grouped into the choices offered.
CHOICE_OF_LIMIT = {
    "hosts_at_once": "hosts_at_once",
    "per_source_host": "per_source_host",
    "max_bandwidth": "max_bandwidth",
    "nic": "network",
    "uplink": "network",
    "none": "none",
}

RACK_CHOICES = (
    Choice("hosts_at_once", "The hosts-out-at-once limit: hosts go out in small waves"),
    Choice("per_source_host", "The per-source-host cap: few migrations leave each host at once"),
    Choice("max_bandwidth", "The per-migration bandwidth cap: each copy crawls"),
    Choice("network", "The network: host NICs or the rack uplinks are full"),
    Choice("none", "No single limit: relaxing any one alone hardly helps"),
)


def _pct(change: float) -> str:
    """As the binding limit's sentence and table say it ('-48.6 %', '+0 %'): the lesson's rows
    and the sentence beside them give one figure one way."""
    return f"{signed_pct(change)} %"


def describe_fleet(runs: Mapping[str, Any]) -> tuple[str, ...]:
    (data,) = runs.values()
    scenario = parse_scenario(data)
    racks = sum(g.count for g in scenario.racks)
    hosts = scenario.racks[0].hosts
    lines = [
        f"The fleet: {racks} racks of {hosts} hosts ({bytes_(scenario.racks[0].memory_bytes)}, "
        f"{scenario.racks[0].vcpus} vCPUs each), {scenario.vms.per_host} VMs per host, "
        f"{scenario.policy.get('name', 'qemu')} policy.",
    ]
    for ev in scenario.events:
        scope = "the zone" if ev.scope_zone else ", ".join(ev.scope_racks + ev.scope_hosts)
        lines.append(
            f"The maintenance: {ev.kind.replace('_', ' ')} of {scope}, every host emptied and "
            f"then down for {duration(ev.host_downtime_s)}."
        )
    lines.append(
        "Its limits: "
        + "; ".join(f"{r['label']} {r['current']}" for r in relaxations(scenario))
        + "."
    )
    return tuple(lines)


def teach_rack(runs: Mapping[str, Any]) -> Outcome:
    (data,) = runs.values()
    result = plan(data)
    binding = result["binding_limit"]
    answer = CHOICE_OF_LIMIT.get(binding["name"], "")
    rows = [r for r in binding["table"] if r["constraint"] != "all"]
    together = next((r for r in binding["table"] if r["constraint"] == "all"), None)
    paragraphs = [
        f"The engine planned the evacuation of {count(result['hosts_in_scope'])} of "
        f"{count(result['hosts'])} hosts: {count(result['vms_in_scope'])} VMs, "
        f"{count(result['migrations'])} migrations, at most "
        f"{count(result['peak_concurrent_migrations'])} at once. It takes "
        f"{duration(result['makespan_s'])}; the blackout's 99th percentile is "
        f"{duration(result['blackout_p99_s'])}.",
        "Then it ran the same plan again with each limit relaxed in turn, same VMs, same seed: "
        + "; ".join(
            f"{r['label']} {r['current']} to {r['relaxed_to']}: {duration(r['makespan_s'])} "
            f"({_pct(r['change_pct'])})"
            for r in rows
        )
        + ".",
        binding["sentence"],
    ]
    if binding["name"] == "hosts_at_once":
        paragraphs.append(
            "A host is only patched once all its VMs have left, and only so many hosts may be "
            "out at once: the rack goes in waves, and each wave waits for its slowest VM and "
            "the host's downtime."
        )
    label = next((r["label"] for r in rows if r["constraint"] == binding["name"]), None)
    happened = (
        f"Relaxing the {label} moved the makespan most."
        if label
        else "No single relaxation moved the makespan."
    )
    right = next((c.text for c in RACK_CHOICES if c.key == answer), None)
    verdict = (
        f"{happened} So the answer is: {right[0].lower() + right[1:]}."
        if right
        else f"{happened} None of the predictions names it."
    )
    labels = ["as planned", *(r["label"] for r in rows)]
    minutes = [result["makespan_s"] / 60, *(r["makespan_s"] / 60 for r in rows)]
    if together:
        labels.append(together["label"])
        minutes.append(together["makespan_s"] / 60)
    return Outcome(
        answer=answer,
        verdict=verdict,
        explanation=tuple(paragraphs),
        columns=("makespan", "change"),
        figures=(
            ("as planned", (duration(result["makespan_s"]), "")),
            *(
                (
                    f"{r['label']} {r['current']} to {r['relaxed_to']}"
                    if r["constraint"] != "all"
                    else r["label"],
                    (duration(r["makespan_s"]), _pct(r["change_pct"])),
                )
                for r in binding["table"]
            ),
        ),
        chart={
            "title": "The maintenance's makespan, with each limit relaxed",
            "x_title": "minutes",
            "y_title": "",
            "traces": [
                {
                    "name": "makespan",
                    "x": minutes[::-1],
                    "y": labels[::-1],
                    "type": "bar",
                    "orientation": "h",
                }
            ],
        },
        numbers={
            "makespan_s": result["makespan_s"],
            "binding": binding["name"],
            "table": binding["table"],
            "migrations": result["migrations"],
        },
    )


RACK_SCENARIO = {
    "name": "rack evacuation",
    "seed": 3,
    "fleet": {
        "zone": "z",
        "host": {"vcpus": 64, "memory": "256GiB", "nic": "10Gbit/s"},
        "racks": [{"name": "r", "count": 2, "hosts": 4, "uplink": "20Gbit/s"}],
        "vms": {
            "per_host": 4,
            "memory": ["4GiB", "16GiB"],
            "vcpus": [2, 8],
            "mix": {"web": 0.5, "oltp": 0.3, "idle": 0.2},
        },
    },
    "policy": {"name": "qemu", "downtime_limit": "300ms"},
    "caps": {"per_source_host": 2},
    "events": [
        {
            "name": "rack r1",
            "kind": "kernel_upgrade",
            "scope": {"racks": ["r1"]},
            "max_hosts_in_maintenance": 2,
            "host_downtime": "5min",
        }
    ],
}

RACK_EVACUATION = Lesson(
    slug="rack-evacuation-binding-limit",
    title="A rack evacuation, and which limit binds",
    summary="Empty a rack for a kernel upgrade: what sets the pace?",
    question="A whole rack is emptied for a kernel upgrade, its VMs live-migrated to the other "
    "rack. Which limit sets how long it takes?",
    choices=RACK_CHOICES,
    runs=(("fleet", RACK_SCENARIO),),
    describe=describe_fleet,
    teach=teach_rack,
    topics=("fleet", "plan"),
)
