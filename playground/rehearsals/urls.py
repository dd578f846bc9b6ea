"""Rehearsal URLs, included under ``rehearsals/`` (see docs/rehearsal.md).

``<rid>`` is the rehearsal's id; ``<token>`` its secret, in the URLs that guests and scripts
use. A VM's base URL is ``rehearsals/<rid>/<token>/vms/<vm>/``: append the GCE path
(``computeMetadata/v1/instance/maintenance-event``). ``maintenance-event`` has its own view
(hanging GETs); every other key (``project/project-id``, ``instance/zone``, ``scheduling/``
...) is ``guest_api.metadata``.
"""

from django.urls import path, register_converter

from . import creating, guest_api, views


class _Secret:
    regex = r"[A-Za-z0-9_-]{16,64}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(_Secret, "rehearsal_secret")

VM = "rehearsal_secret:token>/vms/<str:vm>/"
META = VM + "computeMetadata/v1/instance/"
COMPUTE = "rehearsal_secret:token>/compute/v1/projects/<str:project>/zones/<str:zone>/"

urlpatterns = [
    path("", creating.index, name="rehearsals"),
    path("new.json", creating.create_json, name="rehearsal-create-json"),
    path("<rehearsal_secret:rid>/", views.detail, name="rehearsal-detail"),
    path("<rehearsal_secret:rid>/board/", views.board, name="rehearsal-board"),
    path(
        "<rehearsal_secret:rid>/vms/<str:vm>/simulate",
        views.simulate_from_page,
        name="rehearsal-simulate",
    ),
    path("<rehearsal_secret:rid>/<rehearsal_secret:token>/", views.adopt, name="rehearsal-adopt"),
    path(
        "<rehearsal_secret:rid>/<rehearsal_secret:token>/events.json",
        views.events_json,
        name="rehearsal-events",
    ),
    path(
        "<rehearsal_secret:rid>/<rehearsal_secret:token>/vms/<str:vm>/",
        guest_api.guest_base,
        name="rehearsal-guest-base",
    ),
    path(
        "<rehearsal_secret:rid>/<" + META + "maintenance-event",
        guest_api.maintenance_event,
        name="rehearsal-maintenance-event",
    ),
    path(
        "<rehearsal_secret:rid>/<" + VM + "computeMetadata/",
        guest_api.metadata_versions,
        name="rehearsal-metadata-versions",
    ),
    path(
        "<rehearsal_secret:rid>/<" + VM + "computeMetadata/v1/",
        guest_api.metadata,
        name="rehearsal-metadata-root",
    ),
    path(
        "<rehearsal_secret:rid>/<" + VM + "computeMetadata/v1/<path:key>",
        guest_api.metadata,
        name="rehearsal-metadata",
    ),
    path(
        "<rehearsal_secret:rid>/<rehearsal_secret:token>/compute/v1/",
        guest_api.compute_base,
        name="rehearsal-compute-base",
    ),
    path(
        "<rehearsal_secret:rid>/<" + COMPUTE + "instances/<str:vm>/simulateMaintenanceEvent",
        guest_api.simulate_maintenance_event,
        name="rehearsal-simulate-api",
    ),
    path(
        "<rehearsal_secret:rid>/<" + COMPUTE + "operations/<str:name>",
        guest_api.operation,
        name="rehearsal-operation",
    ),
]
