"""Who may watch a run is decided in one place (``access``), in two forms: ``watchable`` (a
queryset, for pages and JSON) and ``may_watch`` (on a run row already read: the WebSocket
consumers read the row once for all the viewers who connect together). They must agree for
every visitor and every kind of row."""

from __future__ import annotations

import pytest

from playground.accounts.access import (
    Visitor,
    _share_label,
    may_watch,
    share_token,
    watchable,
)
from playground.anatomy.models import Run
from playground.runs import consumers

pytestmark = pytest.mark.django_db


def _run(**owner) -> Run:
    return Run.objects.create(params={"memory": "4GiB"}, **owner)


def test_the_rule_on_a_row_read_agrees_with_the_queryset(user, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="bob-password-1")
    runs = {
        "alice's": _run(owner=user),
        "bob's": _run(owner=bob),
        "an anonymous visitor's": _run(visitor_key="anon-key-123"),
        "nobody's (staff only)": _run(),
    }
    alices = runs["alice's"]
    link = (_share_label(Run, alices.pk), share_token(alices))
    visitors = {
        "alice": Visitor(user.pk, "", False, "alice"),
        "bob": Visitor(bob.pk, "", False, "bob"),
        "staff": Visitor(99, "", True, "sam"),
        "the anonymous maker": Visitor(None, "anon-key-123"),
        "another anonymous visitor": Visitor(None, "another-key"),
        "nobody in particular": Visitor(),
        "who opened alice's share link": Visitor(None, "", shares=(link,)),
        "a forged link": Visitor(None, "", shares=((link[0], "forged"),)),
        "alice's link on another run": Visitor(
            None, "", shares=((_share_label(Run, runs["bob's"].pk), link[1]),)
        ),
    }
    allowed = set()
    for who, visitor in visitors.items():
        for whose, run in runs.items():
            row = consumers._owner(Run, run.pk)  # what the consumer reads, once per run
            expected = watchable(Run, visitor).filter(pk=run.pk).exists()
            assert may_watch(visitor, row) == expected, (who, whose)
            if expected:
                allowed.add((who, whose))
    assert allowed == {
        ("alice", "alice's"),
        ("bob", "bob's"),
        ("who opened alice's share link", "alice's"),
        ("the anonymous maker", "an anonymous visitor's"),
        *(("staff", whose) for whose in runs),
    }
