"""The kinds of run the one pipeline executes, keyed by name.

Each product app registers its kind in its ``AppConfig.ready()`` (``anatomy``: ``"run"``, one
VM's migration; ``fleets``: ``"fleet"``, a maintenance of a whole zone). The pipeline, the task,
the reaper and the WebSocket consumer look a kind up here, so ``playground.runs`` never imports a
product app (healthchecks' ``TRANSPORTS`` idea: a registry of kind -> behaviour).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import LeasedRun, StoredEvent
    from .pipeline import EventSink


@dataclass
class Outcome:
    """What a runner hands back when its model has finished: ``fields`` are stored on the run
    row as it is marked done (a summary...), ``store`` writes further rows (one per VM...). Both
    happen in the one transaction that finishes the run, so a failed run leaves no half set."""

    fields: dict = field(default_factory=dict)
    store: Callable[[], None] | None = None


# A runner runs the model for one stored run: it adds each event (a JSON-able dict with a
# "kind") to the sink, in order, and returns the ``Outcome``. It knows nothing of Celery,
# Channels, leases or sequence numbers: the pipeline owns those.
Runner = Callable[["LeasedRun", "EventSink"], Outcome]


@dataclass(frozen=True)
class RunKind:
    name: str  # also the prefix of the run's channel-layer group: "<name>.<id>"
    model: type[LeasedRun]  # the run rows; their stored events are ``run.events``
    event_model: type[StoredEvent]
    runner: Runner
    invalid_input: tuple[type[Exception], ...]  # raised for stored input that no longer validates
    invalid_message: str  # "The stored parameters are no longer valid: {error}"
    failed_message: str  # "The model failed: {error}"
    # raised when the model's own work budget ran out (valid input, too costly to finish), and
    # what the run's failure then says: never "no longer valid" for input that is
    over_budget: tuple[type[Exception], ...] = ()
    over_budget_message: str = "The run stopped before its end: {error}"
    events_noun: str = "events"  # what the budget counts, in words
    # the settings (names) that tune it: the most events a run may make, the most per stored
    # batch and message, the longest wall time between two publications
    max_events_setting: str = "PLAYGROUND_RUN_MAX_EVENTS"
    batch_size_setting: str = "PLAYGROUND_PUBLISH_BATCH_SIZE"
    interval_setting: str = "PLAYGROUND_PUBLISH_INTERVAL_S"
    # the most bytes of messages a viewer gets in any second (None: no such budget)
    bytes_per_s_setting: str | None = None
    replay_page: int = 500  # events per message when a viewer catches up


_KINDS: dict[str, RunKind] = {}


def register(kind: RunKind) -> None:
    _KINDS[kind.name] = kind


def get(name: str) -> RunKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"no run kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def every() -> list[RunKind]:
    return list(_KINDS.values())
