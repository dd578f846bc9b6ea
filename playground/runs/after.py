"""``?after=<seq>``: where a reader of a stored stream resumes (a run's ``events.json``, a fleet
run's ``messages.json``, a rehearsal's ``events.json``). One rule for all of them: a whole number
of at most 12 digits, said in full when it is not one."""

from __future__ import annotations

import re

AFTER_MAX = 999_999_999_999
ERROR_BAD_AFTER = f"after must be a whole number from 0 to {AFTER_MAX:,}"
_AFTER = re.compile(r"[0-9]{1,12}")


def parse_after(text: str) -> int | None:
    """The sequence number to resume after, or None when ``text`` is not one."""
    return int(text) if _AFTER.fullmatch(text) else None
