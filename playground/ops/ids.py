"""A number given in a request: a run's id (``?from=``, ``?from_run=``, ``?runs=3,1``), the
number of event forms on the fleet form, a stream's ``?after=``. One rule for all of them: a
whole number of at most 12 digits 0-9 (no sign, no spaces, no other script's digits), so a typed
``-1``, ``1e9`` or 5,000 digits is refused before ``int()`` or the database sees it."""

from __future__ import annotations

import re

WHOLE_MAX = 999_999_999_999  # 12 digits
_WHOLE = re.compile(r"[0-9]{1,12}")


def whole_number(text: str) -> int | None:
    """``text`` as a whole number from 0 to ``WHOLE_MAX``, or None when it is not one."""
    return int(text) if _WHOLE.fullmatch(text) else None
