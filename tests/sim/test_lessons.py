"""Lessons (issue #14, section 5): every figure a lesson says, and which prediction was right,
is read from its own run. Each lesson's run is re-run here independently and its numbers looked
for in the text; then the run is changed and the text must follow."""

import copy

import pytest

from migrationsim import build_spec, simulate
from migrationsim.fleet.plan import plan
from migrationsim.lessons import LESSONS, for_topic, get
from migrationsim.lessons.base import bytes_, count, duration, rate, share
from migrationsim.lessons.fleet import RACK_SCENARIO


def text(outcome) -> str:
    return " ".join((outcome.verdict, *outcome.explanation))


def run_of(lesson, key, **changes):
    return simulate(build_spec(**{**lesson.run_params[key], **changes}))


def changed(lesson, key, **changes):
    runs = copy.deepcopy(lesson.run_params)
    runs[key] = {**runs[key], **changes}
    return runs


# --- every lesson -------------------------------------------------------------------------------


def test_there_are_at_least_six_lessons_with_distinct_slugs():
    assert len(LESSONS) >= 6
    assert len({lesson.slug for lesson in LESSONS}) == len(LESSONS)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_lesson_answers_with_one_of_its_choices_and_a_chart_of_the_run(lesson):
    outcome = lesson.outcome()
    assert outcome.answer in {c.key for c in lesson.choices}
    assert lesson.choice(outcome.answer).text[1:].lower() in outcome.verdict.lower()
    assert outcome.chart["traces"] and all(t["x"] and t["y"] for t in outcome.chart["traces"])
    assert all(len(values) == len(outcome.columns) for _, values in outcome.figures)
    assert lesson.setup() and all(line.endswith(".") for line in lesson.setup())


def test_pages_find_their_lessons_by_topic():
    assert get("write-heavy-never-converges") in for_topic("run")
    assert get("rack-evacuation-binding-limit") in for_topic("plan")
    assert get("rack-evacuation-binding-limit") not in for_topic("anatomy")
    assert get("no-such-lesson") is None


# --- 1. write-heavy -----------------------------------------------------------------------------


def test_write_heavy_says_the_runs_own_numbers():
    lesson = get("write-heavy-never-converges")
    result = run_of(lesson, "guest")
    said = text(lesson.outcome())
    assert not result.stop.converged and lesson.outcome().answer == "never"
    assert f"Over {result.precopy.live_rounds} live rounds" in said
    assert rate(result.spec.dirty_rate_bps) in said
    assert bytes_(result.precopy.threshold_bytes) in said
    assert bytes_(result.bytes_sent) in said
    assert bytes_(min(r.pending_after_bytes for r in result.rounds)) in said
    assert result.stop.message in said


def test_write_heavy_says_why_it_stopped_in_words_not_codes():
    """The page said "The run did not converge (timeout abort, aborted)": two codes in a row."""
    verdict = get("write-heavy-never-converges").outcome().verdict
    assert "timeout abort, aborted" not in verdict
    assert "(completion timeout: abort; outcome: aborted)" in verdict


def test_write_heavy_changed_to_a_light_writer_converges_and_says_so():
    lesson = get("write-heavy-never-converges")
    before = lesson.outcome()
    runs = changed(lesson, "guest", workload="web")
    after = lesson.outcome(runs)
    result = simulate(build_spec(**runs["guest"]))
    assert after.answer == "converges" != before.answer
    assert text(after) != text(before)
    assert duration(result.switchover.blackout_s) in text(after)
    assert rate(result.spec.dirty_rate_bps) in text(after)


# --- 2. the downtime limit ----------------------------------------------------------------------


def test_downtime_limit_names_the_rest_of_the_writes_beside_the_hot_set():
    """The page said "Pending never fell below 83.8 MiB" and, of the same guest, that its writes
    "land in the same 81.9 MiB ... never more than the memory written to": the other working
    set (40 Mbit/s over 2.4 GiB) is what pending holds beyond the hot one."""
    said = text(get("downtime-limit-trade").outcome())
    assert "never more than the memory written to" not in said
    assert "rewritten again and again (the other 40 Mbit/s spread over 2.4 GiB)" in said
    assert "the 81.9 MiB plus the little of the rest it touched meanwhile" in said


def test_downtime_limit_compares_both_runs_numbers():
    lesson = get("downtime-limit-trade")
    tight, loose = run_of(lesson, "tight"), run_of(lesson, "loose")
    outcome = lesson.outcome()
    said = text(outcome)
    for result in (tight, loose):
        assert bytes_(result.precopy.threshold_bytes) in said
        assert duration(result.spec.downtime_limit_s) in said
    assert duration(loose.switchover.blackout_s) in said
    assert count(tight.precopy.live_rounds) in said
    assert loose.stop.converged and not tight.stop.converged
    assert outcome.answer == "unlock"


def test_downtime_limit_on_a_guest_that_converges_either_way_is_no_longer_unlock():
    lesson = get("downtime-limit-trade")
    runs = changed(lesson, "tight", workload="oltp")
    runs["loose"] = {**runs["loose"], "workload": "oltp"}
    before, after = lesson.outcome(), lesson.outcome(runs)
    loose = simulate(build_spec(**runs["loose"]))
    assert before.answer == "unlock" and after.answer in ("same", "trade")
    assert duration(loose.switchover.blackout_s) in text(after)
    assert text(after) != text(before)


# --- 3. auto-converge against post-copy ---------------------------------------------------------


def test_aids_says_the_throttle_the_faults_and_the_times_of_both_runs():
    lesson = get("auto-converge-vs-post-copy")
    auto, post = run_of(lesson, "auto_converge"), run_of(lesson, "post_copy")
    outcome = lesson.outcome()
    said = text(outcome)
    assert share(auto.precopy.throttle_max) in said
    assert count(post.switchover.postcopy_faults) in said
    assert duration(auto.total_time_s) in said and duration(post.total_time_s) in said
    winner = "post_copy" if post.total_time_s < auto.total_time_s else "auto_converge"
    assert outcome.answer == winner


def test_aids_on_a_slower_writer_changes_the_figures():
    lesson = get("auto-converge-vs-post-copy")
    runs = {k: {**p, "workload": "oltp"} for k, p in lesson.run_params.items()}
    after = lesson.outcome(runs)
    auto = simulate(build_spec(**runs["auto_converge"]))
    assert text(after) != text(lesson.outcome())
    assert duration(auto.total_time_s) in text(after)


# --- 4. the 60 s notice -------------------------------------------------------------------------


def test_notice_says_when_each_guest_paused_and_for_how_long():
    lesson = get("maintenance-event-notice")
    watches, ignores = run_of(lesson, "watches"), run_of(lesson, "ignores")
    outcome = lesson.outcome()
    said = text(outcome)
    assert duration(watches.notice_s) in said and watches.notice_value in said
    assert duration(watches.phases[-1].end_s) in said
    assert duration(ignores.phases[-1].end_s) in said
    assert duration(watches.switchover.blackout_s) in said
    same_blackout = watches.switchover.blackout_s == ignores.switchover.blackout_s
    assert (outcome.answer == "prepare") == same_blackout


def test_notice_with_a_longer_target_setup_moves_every_time_in_the_text():
    lesson = get("maintenance-event-notice")
    runs = {k: {**p, "target_setup": "10s"} for k, p in lesson.run_params.items()}
    after = lesson.outcome(runs)
    watches = simulate(build_spec(**runs["watches"]))
    assert duration(watches.phases[-1].end_s) in text(after)
    assert text(after) != text(lesson.outcome())


# --- 5. forwarding ------------------------------------------------------------------------------


def test_forwarding_counts_the_packets_of_both_runs():
    lesson = get("post-migration-brownout-forwarding")
    with_, without = run_of(lesson, "forwarding"), run_of(lesson, "no_forwarding")
    outcome = lesson.outcome()
    said = text(outcome)
    assert count(with_.forwarding.forwarded_packets) in said
    assert count(without.forwarding.lost_packets) in said
    assert duration(with_.forwarding.fabric_convergence_s) in said
    assert duration(with_.forwarding.added_latency_s) in said
    assert outcome.answer == "convergence"
    lost = outcome.chart["traces"][1]["y"]
    assert lost[-1] == pytest.approx(without.forwarding.lost_packets)


def test_forwarding_with_a_faster_fabric_loses_fewer_packets_in_the_text():
    lesson = get("post-migration-brownout-forwarding")
    runs = {k: {**p, "fabric_convergence": "200ms"} for k, p in lesson.run_params.items()}
    after = lesson.outcome(runs)
    without = simulate(build_spec(**runs["no_forwarding"]))
    assert count(without.forwarding.lost_packets) in text(after)
    assert text(after) != text(lesson.outcome())


# --- 6. a rack evacuation -----------------------------------------------------------------------


def test_rack_evacuation_names_the_plans_binding_limit_with_its_figures():
    lesson = get("rack-evacuation-binding-limit")
    result = plan(copy.deepcopy(RACK_SCENARIO))
    outcome = lesson.outcome()
    said = text(outcome)
    binding = result["binding_limit"]
    assert binding["sentence"] in said
    assert outcome.numbers["binding"] == binding["name"]
    assert outcome.answer == {"nic": "network", "uplink": "network"}.get(
        binding["name"], binding["name"]
    )
    assert f"{result['migrations']} migrations" in said


def test_rack_evacuation_gives_each_change_as_the_binding_sentence_does():
    """The table said '-49 %' beside the sentence's '-48.6 %' for the same relaxation."""
    outcome = get("rack-evacuation-binding-limit").outcome()
    sentence = plan(copy.deepcopy(RACK_SCENARIO))["binding_limit"]["sentence"]
    rows = dict(outcome.figures)
    hosts = next(label for label in rows if label.startswith("hosts-out-at-once"))
    change = rows[hosts][1]
    assert change.endswith(" %") and f"({change})" in sentence, (change, sentence)
    assert all(f"({figures[1]})" in text(outcome) for figures in rows.values() if figures[1])


def test_rack_evacuation_with_more_hosts_out_at_once_binds_elsewhere():
    lesson = get("rack-evacuation-binding-limit")
    data = copy.deepcopy(RACK_SCENARIO)
    data["events"][0]["max_hosts_in_maintenance"] = 4
    before, after = lesson.outcome(), lesson.outcome({"fleet": data})
    assert before.answer == "hosts_at_once" and after.answer != "hosts_at_once"
    assert plan(copy.deepcopy(data))["binding_limit"]["sentence"] in text(after)


# --- 7. a faster link under QEMU's cap ----------------------------------------------------------


def test_faster_link_says_both_pre_copy_times_and_blackouts():
    lesson = get("faster-link-under-the-cap")
    slow, fast, free = (run_of(lesson, key) for key in ("slow", "fast", "uncapped"))
    outcome = lesson.outcome()
    said = text(outcome)
    for result in (slow, fast, free):
        assert duration(result.precopy.time_s) in said
        assert duration(result.switchover.blackout_s) in said
    assert bytes_(free.precopy.threshold_bytes) in said
    assert slow.precopy.time_s == pytest.approx(fast.precopy.time_s, rel=0.1)
    assert outcome.answer == "blackout_only"


def test_faster_link_without_the_cap_scales_with_the_link():
    lesson = get("faster-link-under-the-cap")
    runs = copy.deepcopy(lesson.run_params)
    for key in ("slow", "fast"):
        runs[key]["max_bandwidth"] = "none"
    after = lesson.outcome(runs)
    fast = simulate(build_spec(**runs["fast"]))
    assert after.answer == "scales"
    assert duration(fast.precopy.time_s) in text(after)


# --- the lessons agree with each other and say figures one way ----------------------------------


def _everything(lesson) -> str:
    outcome = lesson.outcome()
    cells = " ".join(" ".join(values) for _, values in outcome.figures)
    return " ".join((*lesson.setup(), text(outcome), cells, outcome.chart["title"]))


def test_a_guest_writing_faster_than_the_copy_is_not_said_never_to_converge():
    """Lesson 1 once said a guest writing faster than pre-copy copies cannot converge; lesson 2's
    guest writes six times faster and converges. What decides is how much memory it rewrites:
    both lessons say so, with the sizes from their runs."""
    heavy, limit = get("write-heavy-never-converges"), get("downtime-limit-trade")
    heavy_run, loose = run_of(heavy, "guest"), run_of(limit, "loose")
    assert loose.stop.converged
    assert loose.spec.dirty_rate_bps > heavy_run.spec.dirty_rate_bps  # faster, and it converged
    heavy_said = text(heavy.outcome())
    assert "writes faster than the migration copies cannot converge" not in heavy_said
    written = sum(ws.size_bytes for ws in heavy_run.spec.working_sets)
    assert f"across {bytes_(written)}" in heavy_said
    hot = max(loose.spec.working_sets, key=lambda ws: ws.write_rate_bps)
    assert f"land in the same {bytes_(hot.size_bytes)}" in text(limit.outcome())


def test_the_per_migration_cap_is_said_in_one_unit_in_every_lesson():
    from migrationsim.spec import QEMU_DEFAULT_MAX_BANDWIDTH_BPS

    cap = rate(QEMU_DEFAULT_MAX_BANDWIDTH_BPS)
    for slug in ("write-heavy-never-converges", "rack-evacuation-binding-limit"):
        said = _everything(get(slug))
        assert cap in said, slug
        assert "MiB/s" not in said, slug


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_no_lesson_says_a_duration_in_decimal_minutes_or_zero_ms(lesson):
    import re

    said = _everything(lesson)
    assert not re.search(r"\b\d+\.\d+ min\b", said), said  # '15.9 min' beside '54.9 s'
    assert not re.search(r"(?<![\d.])0(\.0+)? (ms|µs)\b", said), said  # '0 ms' for nothing


def test_a_chart_of_runs_that_end_far_apart_shows_the_shorter_one_readably():
    lesson = get("downtime-limit-trade")
    outcome = lesson.outcome()
    loose_s = outcome.numbers["loose"]["precopy_time_s"]
    low, high = outcome.chart["x_range"]
    assert low == 0 and loose_s <= high and loose_s / high >= 0.25
    assert duration(outcome.numbers["tight"]["precopy_time_s"]) in outcome.chart["title"]
