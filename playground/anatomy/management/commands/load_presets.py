"""``manage.py load_presets``: create or update the named scenarios the form offers.

Idempotent (update_or_create by slug), so ``./run`` calls it every time."""

from django.core.management.base import BaseCommand

from playground.anatomy.models import Scenario

SCENARIOS = [
    (
        "web-10g",
        "A web server on 10 GbE",
        "The everyday case: a small hot set, QEMU's defaults. Converges in a few rounds.",
        {
            "memory": "4GiB",
            "workload": "web",
            "bandwidth": "10Gbit/s",
            "policy": "qemu",
            "downtime_limit": "300ms",
            "speed": "10",
        },
    ),
    (
        "idle",
        "An idle VM",
        "Most memory was never written: round 0 is cheap and the blackout tiny.",
        {
            "memory": "8GiB",
            "workload": "idle",
            "bandwidth": "10Gbit/s",
            "policy": "qemu",
            "speed": "10",
        },
    ),
    (
        "cache-1g",
        "A busy cache on a 1 Gbit/s link",
        "Dirtying close to the link rate: watch the pending bytes refuse to shrink.",
        {
            "memory": "8GiB",
            "workload": "cache",
            "bandwidth": "1Gbit/s",
            "policy": "qemu",
            "speed": "100",
        },
    ),
    (
        "cache-autoconverge",
        "A busy cache, tamed by auto-converge",
        "The cache dirties 150 MB/s, more than QEMU's default cap of 128 MiB/s on live rounds: "
        "alone, pre-copy never converges and the migration is aborted. Auto-converge slows the "
        "vCPUs a step at a time until the dirtying falls under the link and pre-copy can stop.",
        {
            "memory": "4GiB",
            "workload": "cache",
            "bandwidth": "10Gbit/s",
            "policy": "qemu",
            "auto_converge": True,
            "speed": "10",
        },
    ),
    (
        "muncher-postcopy",
        "The memory muncher, moved by post-copy",
        "Switch to the target after the first pass and pull the missing pages on demand.",
        {
            "memory": "4GiB",
            "workload": "muncher",
            "bandwidth": "10Gbit/s",
            "policy": "qemu",
            "post_copy": True,
            "speed": "100",
        },
    ),
    (
        "textbook",
        "The textbook closed form (Liu/Akoush)",
        "8 GiB, 10 GbE, 200 MB/s dirtied linearly: two live rounds, a 176 ms blackout.",
        {
            "memory": "8GiB",
            "workload": "custom",
            "dirty_rate": "200MB/s",
            "bandwidth": "1.25GB/s",
            "policy": "textbook",
            "downtime_limit": "300ms",
            "speed": "10",
        },
    ),
    (
        "pages-oltp",
        "An OLTP database, page by page",
        "The pages resolution: a real dirty bitmap, seeded. Watch the buffer pool light up.",
        {
            "memory": "2GiB",
            "workload": "oltp",
            "bandwidth": "10Gbit/s",
            "policy": "gce",
            "resolution": "pages",
            "speed": "10",
        },
    ),
]


# Scenarios that were shipped once and are no more: removed where they were loaded.
# (muncher-autoconverge: 16 GB/s cannot be throttled under a 128 MiB/s link even at 99 %; it was
# aborted, a showcase of auto-converge that showed it failing.)
RETIRED = ("muncher-autoconverge",)


class Command(BaseCommand):
    help = "Create or update the named scenarios shown beside the form."

    def handle(self, *args, **options):
        Scenario.objects.filter(slug__in=RETIRED).delete()
        for position, (slug, title, description, params) in enumerate(SCENARIOS):
            Scenario.objects.update_or_create(
                slug=slug,
                defaults={
                    "title": title,
                    "description": description,
                    "params": params,
                    "position": position,
                },
            )
        self.stdout.write(f"{len(SCENARIOS)} scenarios loaded")
