"""Every outcome and every reason code, in words: the one table.

The model speaks in stable codes (``"aborted"``, ``"timeout_abort"``, ``"cap_rack"``); people
read the words here. The CLI, the narration of a run, its badges, the past runs, the fleet
results, the exports and the comparison all take their words from this module (the pages show
the words alone, "aborted" and not "aborted aborted", and keep the code in a ``data-outcome``,
``data-reason`` or ``data-code`` attribute; the CLI prints it as ``[code]``). Figures in a
sentence (``{throttle}``, ``{why}``) come from the run.

- ``OUTCOMES``: what became of a VM (one VM's migration, or a VM of a fleet);
- ``REASONS``: why pre-copy stopped (single-VM stop reasons) and why a fleet VM waited, was
  not placed or did not move (``fleet/reasons.py``'s codes, whose sentences with figures stay
  there);
- ``TERMS``: the fleet's counting words (aborted, not converged, stuck), each defined once.

``describe(code, **figures)`` is the sentence for any code; ``single_vm(result)`` the outcome of
one migration's result (a ``MigrationResult.to_dict()``) as code, label and sentence.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

from . import humanize
from .fleet import reasons as fleet_reasons


class Words(NamedTuple):
    label: str  # a few words, for badges and table cells; may take {figures}
    sentence: str  # what it means, as a sentence; may take {figures}


# --- what became of the VM -------------------------------------------------------------------

COMPLETED = "completed"
COMPLETED_POST_COPY = "completed_post_copy"
COMPLETED_THROTTLED = "completed_throttled"
COMPLETED_FORCED = "completed_forced"
ABORTED = "aborted"

ON_SOURCE = "the VM keeps running on the source host"

OUTCOMES: dict[str, Words] = {
    # one VM's migration (the anatomy page, ``python -m migrationsim migrate``)
    COMPLETED: Words("completed", "Done: the VM runs on the target host."),
    COMPLETED_POST_COPY: Words(
        "completed by post-copy",
        "Done: the VM runs on the target host. It switched before all its memory had arrived "
        "({why}); post-copy then pulled the remaining {postcopy} from the source.",
    ),
    COMPLETED_THROTTLED: Words(
        "completed after throttling to {throttle}",
        "Done: the VM runs on the target host, after auto-converge throttled its vCPUs to "
        "{throttle} so that pre-copy could catch up with the guest's writes.",
    ),
    COMPLETED_FORCED: Words(
        "completed without converging",
        "Done: the VM runs on the target host, but pre-copy never converged ({why}): the switch "
        "was forced, with {final} left to copy in a {blackout} blackout.",
    ),
    ABORTED: Words(
        "aborted",
        "Aborted: {why}. The migration was given up before the switch; " + ON_SOURCE + ".",
    ),
    # a VM of a fleet (``fleet/summary.py`` OUTCOMES)
    "migrated": Words("migrated", "live-migrated to another host"),
    "terminated": Words(
        "terminated",
        "stopped and not restarted: it cannot live-migrate (a GPU or other accelerator, a Spot "
        "VM, onHostMaintenance=TERMINATE), or the deadline passed before it could move",
    ),
    # a VM restarted after a crash keeps the outcome crashed: "restarted" says it was stopped
    "restarted": Words(
        "stopped and restarted elsewhere",
        "stopped on its host (it cannot live-migrate, or the deadline passed), then restarted "
        "on another host (automaticRestart); a VM restarted after its host failed is counted "
        "as crashed, not here",
    ),
    "crashed": Words(
        "failed: source crash",
        "its host failed (hostError) before or while it was leaving, and the VM crashed; it is "
        "counted here even when it was then restarted on another host (automaticRestart)",
    ),
    "stuck": Words(
        "stuck",
        "not done when the run ended: still waiting in its host's queue, on a host its "
        "maintenance had not yet taken (the rollout blocked behind hosts that never emptied), "
        "or, when the run stopped at its ceiling, still migrating",
    ),
    "unaffected": Words("unaffected", "its host was not under maintenance"),
}
# a fleet's VM aborted is the same outcome as one VM's (given up before the switch)
FLEET_ABORTED = Words(
    "aborted",
    "its migration was given up before the switch (it did not converge in time, or the target "
    "failed or refused it too often): " + ON_SOURCE,
)


# --- why --------------------------------------------------------------------------------------

REASONS: dict[str, Words] = {
    # why pre-copy stopped (``policies.py``, ``precopy.py``)
    "threshold_reached": Words("converged", "pending memory fell below the switch-over threshold"),
    "few_pages": Words("converged", "fewer than 50 pages were left dirty"),
    "max_rounds": Words("round limit", "the policy's limit on live rounds was reached"),
    "max_volume": Words("volume limit", "the policy's limit on data sent was reached"),
    "diminishing_returns": Words(
        "diminishing returns", "the last round hardly shrank what was left to send"
    ),
    "timeout_abort": Words(
        "completion timeout: abort",
        "it did not converge within the completion timeout, whose action is to abort",
    ),
    "timeout_force_complete": Words(
        "completion timeout: force-complete",
        "it did not converge within the completion timeout, whose action is to pause the VM "
        "and copy the rest",
    ),
    "timeout_post_copy": Words(
        "completion timeout: post-copy",
        "it did not converge within the completion timeout, whose action is to switch to post-copy",
    ),
    "post_copy": Words("post-copy", "post-copy took over after the first pass"),
    "time_ceiling": Words(
        "never converges",
        "it had still not converged after a year of pre-copy, the longest this simulator "
        "follows a migration",
    ),
    "round_ceiling": Words(
        "never converges",
        "it had still not converged after the most live rounds this simulator follows one by "
        "one (100,000 for a fleet's migration; for one VM's, 25,000 with no deadline within a "
        "year, else a million)",
    ),
    "never_converges": Words(
        "never converges",
        "every bitmap sync is proven to leave more pending than the threshold can ever be, and "
        "its completion timeout is later than this simulator follows a migration",
    ),
    "cannot_finish": Words(
        "cannot finish",
        "a single copy of its memory would take longer than this simulator follows a migration",
    ),
    # a fleet VM: waiting, placement, failures (``fleet/reasons.py``: the sentences with figures)
    fleet_reasons.CAP_SOURCE_HOST: Words(
        "per-host cap", "its host had as many migrations leaving as allowed"
    ),
    fleet_reasons.CAP_TARGET_HOST: Words(
        "per-target cap", "every fitting target had as many migrations arriving as allowed"
    ),
    fleet_reasons.CAP_RACK: Words(
        "per-rack cap", "its rack had as many migrations leaving as allowed"
    ),
    fleet_reasons.CAP_CUSTOMER: Words(
        "per-customer cap", "its customer had as many migrations under way as allowed"
    ),
    fleet_reasons.CAP_GLOBAL: Words(
        "global cap", "the zone had as many migrations under way as allowed"
    ),
    fleet_reasons.OUTSIDE_WINDOW: Words("window closed", "the maintenance window was closed"),
    fleet_reasons.NO_TARGET: Words("no target", "no host could take it"),
    fleet_reasons.HEAD_OF_LINE: Words(
        "head-of-line", "it waited behind a blocked VM in its host's queue"
    ),
    fleet_reasons.HOST_IN_MAINTENANCE: Words(
        "host in maintenance", "the host is under or scheduled for maintenance"
    ),
    fleet_reasons.HOST_FAILED: Words("host failed", "the host has failed"),
    fleet_reasons.NO_CAPACITY: Words("no capacity", "the host lacks free vCPUs or memory"),
    fleet_reasons.HEADROOM: Words(
        "headroom", "the host would eat into the capacity headroom that must stay free"
    ),
    fleet_reasons.ANTI_AFFINITY: Words(
        "anti-affinity", "the host runs a VM of the same anti-affinity group"
    ),
    fleet_reasons.SAME_HOST: Words("same host", "it is the VM's own host"),
    fleet_reasons.AUTH_FAILED: Words(
        "failed: authentication", "source and target failed to authenticate each other"
    ),
    fleet_reasons.TARGET_FAILED: Words(
        "failed: target back-out",
        "the target host failed before the switch; the migration backed out and " + ON_SOURCE,
    ),
    fleet_reasons.SOURCE_FAILED: Words(
        "failed: source crash", "the source host failed during the migration; the VM crashed"
    ),
    fleet_reasons.NOT_MIGRATABLE: Words(
        "cannot live-migrate",
        "it cannot be live-migrated (a GPU or other accelerator, a Spot VM, or "
        "onHostMaintenance=TERMINATE)",
    ),
    fleet_reasons.DEADLINE: Words(
        "deadline", "the maintenance deadline passed before it could move; its host was rebooted"
    ),
    fleet_reasons.NO_RESTART_CAPACITY: Words(
        "no room to restart", "no host had room to restart it"
    ),
    fleet_reasons.RESTARTED_ELSEWHERE: Words(
        "restarted elsewhere", "it was started again on another host (automaticRestart)"
    ),
    fleet_reasons.VM_STAYS: Words(
        "host kept by its VMs",
        "VMs on it could not be migrated and keep running there, so the host was skipped",
    ),
    fleet_reasons.UNDER_WAY_AT_CEILING: Words(
        "under way at the ceiling",
        "its migration was still under way when the run stopped at its ceiling: what had not "
        "happened by then is counted as not done",
    ),
    fleet_reasons.RESTART_UNDER_WAY_AT_CEILING: Words(
        "restart under way at the ceiling",
        "its restart on another host was still under way when the run stopped at its ceiling: "
        "it was stopped, not yet started again",
    ),
    fleet_reasons.NOT_REACHED_AT_CEILING: Words(
        "not reached by the ceiling",
        "the run stopped at its ceiling before its host's maintenance took the host",
    ),
    fleet_reasons.NOT_REACHED: Words(
        "host never taken",
        "its host's maintenance never took the host: the rollout was still waiting for hosts "
        "ahead of it (never emptied) when the run ended",
    ),
    "unknown": Words("unknown", "the engine gave no reason"),
}


# --- the fleet's counting words ---------------------------------------------------------------

TERMS: dict[str, Words] = {
    "aborted": FLEET_ABORTED,
    "not_converged": Words(
        "migrated without converging",
        "migrated, but pre-copy stopped before pending memory fell below the threshold (a "
        "round or volume limit, diminishing returns, a forced completion or post-copy); "
        "aborted VMs did not move and are counted as aborted, not here",
    ),
    "stuck": OUTCOMES["stuck"],
}


def fleet_outcome(code: str) -> Words:
    """What became of a fleet VM (``VmRecord.outcome``), in words."""
    return FLEET_ABORTED if code == ABORTED else OUTCOMES[code]


def fleet_outcome_rows(summary: dict) -> list[tuple[str, str, str, int]]:
    """(code, label, definition, count) for each outcome of a fleet run's summary, in its
    order: the results' outcome table. The crashed row says how many of them were then
    restarted on another host ("failed: source crash (10 then restarted on another host)"),
    from the summary's ``crashed_restarted`` when it has it (and it does not count more VMs
    than crashed: a VM restarted after a crash may have moved on since)."""
    counts = summary.get("outcomes") or {}
    restarted = summary.get("crashed_restarted") or 0
    rows = []
    for code, n in counts.items():
        if code not in OUTCOMES:
            rows.append((code, code, "", n))
            continue
        said = fleet_outcome(code)
        label = said.label
        if code == "crashed" and 0 < restarted <= n:
            label += f" ({restarted:,} then restarted on another host)"
        rows.append((code, label, said.sentence, n))
    return rows


def fleet_words(code: str) -> Words | None:
    """What became of a fleet VM, or a fleet term (``not_converged``), in words (None if
    unknown): the plan's and the run's "not handled" groups read this."""
    if code in OUTCOMES:
        return fleet_outcome(code)
    return TERMS.get(code)


def words(code: str) -> Words | None:
    """The words of any code: an outcome, a reason or a fleet term (None if unknown)."""
    return OUTCOMES.get(code) or REASONS.get(code) or TERMS.get(code)


def _fill(template: str, figures: dict) -> str | None:
    """The template with its figures, or None if one it needs is missing."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    if any(name not in figures for name in names):
        return None
    return template.format(**figures)


def label(code: str, **figures) -> str:
    """A few words for a code (the code itself if the table does not know it)."""
    w = words(code)
    if w is None:
        return code.replace("_", " ")
    # without its figures a label drops them with the word before: "completed after throttling"
    return _fill(w.label, figures) or re.sub(r"\s+\S+\s+\{\w+\}", "", w.label)


def describe(code: str, **figures) -> str:
    """The sentence for a code with its figures; a fleet reason with its figures takes
    ``fleet/reasons.py``'s sentence; without the figures a sentence needs, its label."""
    if figures and code in fleet_reasons.SENTENCES and code not in OUTCOMES:
        filled = _fill(fleet_reasons.SENTENCES[code], figures)
        if filled is not None:
            return filled
    w = words(code)
    if w is None:
        return code.replace("_", " ")
    return _fill(w.sentence, figures) or label(code, **figures)


# --- one VM's migration -----------------------------------------------------------------------


def single_vm_code(result: dict) -> str:
    """The outcome code of one migration's result (``MigrationResult.to_dict()``)."""
    if result.get("outcome") == "aborted":
        return ABORTED
    if result.get("postcopy") or result.get("stop_reason") in ("post_copy", "timeout_post_copy"):
        return COMPLETED_POST_COPY
    if result.get("converged") is False:
        return COMPLETED_FORCED
    if (result.get("throttle_max") or 0) > 0:
        return COMPLETED_THROTTLED
    return COMPLETED


def single_vm_figures(result: dict) -> dict:
    stop = result.get("stop_reason") or "unknown"
    postcopy = result.get("postcopy") or {}
    return {
        "why": REASONS[stop].sentence if stop in REASONS else stop.replace("_", " "),
        "throttle": humanize.percent(result.get("throttle_max") or 0.0),
        "postcopy": humanize.size(postcopy.get("bytes") or 0.0),
        "final": humanize.size(result.get("final_bytes") or 0.0),
        "blackout": humanize.duration(result.get("blackout_s") or 0.0),
    }


def single_vm(result: dict) -> dict:
    """One migration's outcome in words: ``{"code", "label", "sentence", "stop_reason",
    "stop_label"}`` (what the CLI prints, the summary event carries and the pages show)."""
    code = single_vm_code(result)
    figures = single_vm_figures(result)
    stop = result.get("stop_reason") or "unknown"
    return {
        "code": code,
        "label": label(code, **figures),
        "sentence": describe(code, **figures),
        "stop_reason": stop,
        "stop_label": label(stop),
    }


def of_result(result: dict | None) -> dict | None:
    """A stored result's outcome in words: the words it carries, or (a result stored before
    it carried them) the table's."""
    if not result:
        return None
    return result.get("outcome_words") or single_vm(result)


def fleet_vm(outcome: str, reason: str = "") -> dict:
    """A fleet VM's row in words: its outcome's label and definition, and its reason (a code
    in words, or the engine's sentence as it is)."""
    w = fleet_outcome(outcome) if outcome in OUTCOMES or outcome == ABORTED else None
    reason_words = words(reason) if reason else None
    return {
        "outcome": outcome,
        "outcome_label": w.label if w else outcome,
        "outcome_sentence": w.sentence if w else "",
        "reason_code": reason if reason_words else "",
        "reason_words": describe(reason) if reason_words else reason,
    }
