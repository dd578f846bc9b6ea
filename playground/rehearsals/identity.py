"""Who a rehearsal's guests are, as GCE's metadata server tells a VM: its project
(``project/project-id``, ``project/numeric-project-id``) and itself (``instance/id``,
``instance/name``, ``instance/zone``).

A rehearsal is one simulated project: a project id made from the scenario's name (GCE's rules:
6 to 30 characters, lowercase letters, digits and hyphens, a letter first, no hyphen last) and a
random 12-digit project number; each VM gets a random 19-digit instance id, unique in the
rehearsal. The zone a guest reads is GCE's full name, ``projects/<number>/zones/<zone>``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

PROJECT_ID_MAX_CHARS = 30
PROJECT_ID_SUFFIX_DIGITS = 6
PROJECT_ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
NUMERIC_PROJECT_ID_DIGITS = 12
INSTANCE_ID_DIGITS = 19  # below 2**63, as GCE's ids are


@dataclass(frozen=True)
class Project:
    project_id: str
    numeric_id: int

    def zone_path(self, zone: str) -> str:
        """``instance/zone`` as GCE answers it."""
        return f"projects/{self.numeric_id}/zones/{zone}"


def _random_digits(count: int) -> int:
    """A random number of exactly ``count`` digits, its first digit 1 to 8 (19 digits stay below
    2**63)."""
    low = 10 ** (count - 1)
    return low + secrets.randbelow(8 * low)


def project_for(name: str) -> Project:
    """A new project for a rehearsal of the scenario ``name``: ``<name as a slug>-<6 digits>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = ("rehearsal-" + slug).strip("-")
    room = PROJECT_ID_MAX_CHARS - PROJECT_ID_SUFFIX_DIGITS - 1
    slug = slug[:room].rstrip("-")
    project_id = f"{slug}-{_random_digits(PROJECT_ID_SUFFIX_DIGITS)}"
    return Project(project_id, _random_digits(NUMERIC_PROJECT_ID_DIGITS))


def instance_ids(names: Iterable[str]) -> dict[str, int]:
    """A distinct random instance id for each VM."""
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for name in names:
        number = _random_digits(INSTANCE_ID_DIGITS)
        while number in taken:
            number = _random_digits(INSTANCE_ID_DIGITS)
        taken.add(number)
        ids[name] = number
    return ids
