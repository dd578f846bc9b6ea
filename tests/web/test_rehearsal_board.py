"""The rehearsal board says its times as every other page does (``migrationsim.humanize``):
'1 min 5 s', not '65.0 s' beside '3.2 min'."""

from types import SimpleNamespace

from django.template.loader import render_to_string

from migrationsim import humanize


def _board(**context) -> str:
    session = SimpleNamespace(id="r" * 16, speed=20.0, error="")
    base = {"session": session, "rows": [], "hidden": 0, "total": 0, "q": "", "events": 3}
    return render_to_string("rehearsals/_board.html", {**base, **context})


def test_the_board_says_the_simulated_clock_and_the_operations_times_as_durations():
    op = {
        "name": "op-1",
        "targetId": "web-1",
        "host": "r1-h1",
        "status": "DONE",
        "simulatedInsertTime_s": 64.98,
        "simulatedEndTime_s": 3723.4,
    }
    html = _board(sim_now=64.98, finished=False, operations=[op])
    assert f"Simulated time <strong>{humanize.duration(64.98)}</strong>" in html
    assert humanize.duration(3723.4) in html  # '1 h 2 min'
    assert "65.0 s" not in html and "3723.4 s" not in html


def test_the_board_says_when_a_guest_polled_and_its_notice_as_durations():
    row = {
        "name": "web-1",
        "host": "r1-h1",
        "value": "NONE",
        "polls": 2,
        "waiting": False,
        "state": "running",
        "polled_ago_s": 0.4,
        "polled_sim_s": 125.25,
        "notice_value": "MIGRATE_ON_HOST_MAINTENANCE",
        "notice_lead_s": 60.0,
        "notice_at_s": 80.5,
    }
    html = _board(sim_now=130.0, finished=False, operations=[], rows=[row], total=1)
    assert f"{humanize.duration(0.4)} ago (t={humanize.duration(125.25)})" in html
    assert f"got {humanize.duration(60.0)}</span> at t={humanize.duration(80.5)}" in html
    assert "125.2 s" not in html and "80.5 s" not in html


def test_the_board_builds_only_the_operations_it_shows(monkeypatch, rf):
    """The board (refreshed while it is open) turned every operation of the rehearsal into its
    JSON, to show the last ten: one per VM every 30 s, for hours, is 10**5 and more."""
    from playground.rehearsals import views

    built = []
    monkeypatch.setattr(
        views, "operation_json", lambda request, session, op: built.append(op) or op
    )
    ops = [{"name": f"op-{i}"} for i in range(5000)]
    session = SimpleNamespace(
        guests={},
        sim_now=lambda: 1.0,
        finished=False,
        rehearsal=SimpleNamespace(operations=ops, playback=SimpleNamespace(events=[]), board={}),
    )
    context = views._board_context(rf.get("/"), session)
    assert context["operations"] == ops[-10:] and len(built) == 10
