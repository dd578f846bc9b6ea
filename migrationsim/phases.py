"""The phases of one VM's trip, in GCE's words, with plain-words explanations for people."""

from __future__ import annotations

from typing import NamedTuple

GUEST_NOTICE = "guest_notice"
TARGET_SETUP = "target_setup"
PRE_MIGRATION_BROWNOUT = "pre_migration_brownout"
BLACKOUT = "blackout"
POST_MIGRATION_BROWNOUT = "post_migration_brownout"
CLEANUP = "cleanup"
# Not one of the consecutive phases: with post-copy it runs inside the post-migration brownout,
# from the guest's resume on the target until the last page has left the source.
POST_COPY = "post_copy"

PHASE_ORDER = (
    GUEST_NOTICE,
    TARGET_SETUP,
    PRE_MIGRATION_BROWNOUT,
    BLACKOUT,
    POST_MIGRATION_BROWNOUT,
    CLEANUP,
)

EXPLANATIONS = {
    GUEST_NOTICE: "The metadata key maintenance-event turns to MIGRATE_ON_HOST_MAINTENANCE. A "
    "guest that watches it gets 60 seconds to drain or checkpoint; one that never "
    "read it gets no warning at all.",
    TARGET_SETUP: "The scheduler picks a target host in the same zone, reserves its resources "
    "with an empty VM, and the two hosts authenticate before any memory moves.",
    PRE_MIGRATION_BROWNOUT: "The guest keeps running while its memory is copied. Round 0 sends "
    "everything; each later round sends what the guest dirtied "
    "meanwhile. The guest may run a little slower (a brownout).",
    BLACKOUT: "The guest is paused. The last dirty pages and the device state cross the link "
    "at full speed and the target resumes the guest. This pause is what users feel: "
    "Google reports a median of 50 ms and a 99th percentile of 300 ms.",
    POST_MIGRATION_BROWNOUT: "The guest runs on the target, but the network still sends some of "
    "its packets to the source, which forwards them (one extra hop) "
    "until the fabric converges; the target announces itself at 0, 50, "
    "200, 450 and 800 ms. With post-copy, missing pages are fetched on "
    "demand here too.",
    POST_COPY: "The guest already runs on the target, but part of its memory is still on the "
    "source. The source pushes those pages in the background at link speed; a page the guest "
    "touches before it arrives is a remote page fault: the vCPU waits a network round trip "
    "while the page is fetched on demand. Until the last page arrives, a failure of either "
    "host loses the VM.",
    CLEANUP: "The source VM is deleted and its resources freed; the metadata key returns to NONE.",
}

ABORTED_CLEANUP = (
    "The migration was abandoned: the empty target VM is deleted and the guest "
    "keeps running on the source as if nothing happened."
)


class Phase(NamedTuple):
    name: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": self.duration_s,
        }


def timeline(
    *,
    notice_s: float,
    setup_s: float,
    precopy_s: float,
    blackout_s: float,
    post_brownout_s: float,
    cleanup_s: float,
    aborted: bool,
) -> list[Phase]:
    """Consecutive phases from the maintenance trigger (t = 0)."""
    if aborted:
        durations = [
            (GUEST_NOTICE, notice_s),
            (TARGET_SETUP, setup_s),
            (PRE_MIGRATION_BROWNOUT, precopy_s),
            (CLEANUP, cleanup_s),
        ]
    else:
        durations = [
            (GUEST_NOTICE, notice_s),
            (TARGET_SETUP, setup_s),
            (PRE_MIGRATION_BROWNOUT, precopy_s),
            (BLACKOUT, blackout_s),
            (POST_MIGRATION_BROWNOUT, post_brownout_s),
            (CLEANUP, cleanup_s),
        ]
    phases, t = [], 0.0
    for name, duration in durations:
        phases.append(_new_phase(Phase, (name, t, t + duration)))
        t += duration
    return phases


_new_phase = tuple.__new__  # a Phase from its fields, without the keyword pass
