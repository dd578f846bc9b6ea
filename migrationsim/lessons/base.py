"""What a lesson is: a question, the choices a learner predicts from, the run (or runs) that
answers it, and a ``teach`` function that turns the run's own results into the right answer, an
explanation, a table of figures and a chart. Nothing a lesson says about a run is written by
hand: every number, and which choice was right, is read from the run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrationsim import humanize
from migrationsim.units import format_bytes, format_duration, format_rate


@dataclass(frozen=True)
class Choice:
    key: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """What one lesson's run(s) showed."""

    answer: str  # the key of the right choice, decided from the run
    verdict: str  # one sentence: what happened, and so which choice was right
    explanation: tuple[str, ...]  # paragraphs, every figure read from the run
    columns: tuple[str, ...]  # the runs' labels, for the table of figures
    figures: tuple[tuple[str, tuple[str, ...]], ...]  # (label, one value per run)
    chart: dict  # {"title", "x_title", "y_title", "barmode"?, "traces": [plotly traces]}
    numbers: dict = field(default_factory=dict)  # the raw figures the text was built from


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    summary: str  # one line for the list of lessons
    question: str
    choices: tuple[Choice, ...]
    runs: tuple[tuple[str, Any], ...]  # (label, single-VM parameters or a fleet scenario dict)
    describe: Callable[[Mapping[str, Any]], tuple[str, ...]]  # the runs in words (no run needed)
    teach: Callable[[Mapping[str, Any]], Outcome]  # runs the model, reads its results
    topics: tuple[str, ...]  # pages that link here: "anatomy", "run", "fleet"
    labels: Mapping[str, str] = field(default_factory=dict)  # each run's name for people

    def label(self, key: str) -> str:
        return self.labels.get(key, key.replace("_", " "))

    @property
    def run_params(self) -> dict[str, Any]:
        return dict(self.runs)

    def setup(self, runs: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        return self.describe(runs if runs is not None else self.run_params)

    def outcome(self, runs: Mapping[str, Any] | None = None) -> Outcome:
        """Run the model (on the lesson's runs, or on others for "what if") and read it."""
        return self.teach(runs if runs is not None else self.run_params)

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


# The words for figures, one place (the units module's formats, a few more).
bytes_ = format_bytes
rate = format_rate


def duration(s: float) -> str:
    """``format_duration``, and microseconds below a millisecond (a forwarding hop is 50 us)."""
    if 0 < s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    return format_duration(s)


def count(n: float) -> str:
    return f"{n:,.0f}"


def share(x: float) -> str:
    """0.6 -> '60 %', as every page says a share (``humanize.percent``)."""
    return humanize.percent(x)


def mib(n: float) -> float:
    return n / 1024**2
