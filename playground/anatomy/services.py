"""Starting a single-VM run: store it (the visitor's) and queue it on the one pipeline."""

from __future__ import annotations

from playground.accounts import access
from playground.runs import pipeline

from .models import Run


def create_run(*, params: dict, visitor: access.Visitor | None = None) -> Run:
    """Store a run of the form's values and queue its simulation once the row is committed."""
    run = Run.objects.create(
        params=params, seed=int(params.get("seed") or 1), **access.owner_fields(visitor)
    )
    pipeline.enqueue(run)
    return run
