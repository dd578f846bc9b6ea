"""``?after=<seq>``: where a reader of a stored stream resumes (a run's ``events.json``, a fleet
run's ``messages.json``, a rehearsal's ``events.json``). One rule for all of them: a whole number
of at most 12 digits (``ops.ids``, the rule for every number in a request), said in full when
it is not one."""

from __future__ import annotations

from playground.ops.ids import WHOLE_MAX, whole_number

AFTER_MAX = WHOLE_MAX
ERROR_BAD_AFTER = f"after must be a whole number from 0 to {AFTER_MAX:,}"


def parse_after(text: str) -> int | None:
    """The sequence number to resume after, or None when ``text`` is not one."""
    return whole_number(text)
