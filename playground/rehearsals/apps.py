from django.apps import AppConfig


class RehearsalsConfig(AppConfig):
    """Rehearsals: a fleet played back in real time, with a GCE-like metadata server and
    ``simulateMaintenanceEvent`` that real guest scripts can use (in memory, no tables)."""

    name = "playground.rehearsals"
    label = "rehearsals"
