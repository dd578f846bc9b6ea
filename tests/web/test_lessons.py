"""The lessons' pages (issue #14, section 5): listed on /lessons/, each at /lessons/<slug>/,
anonymous, a prediction picked with ?pick= (a link to share), the run's chart, figures and
explanation, and whether the pick was right, all read from the lesson's run."""

import html
import json
import re

import pytest
from django.urls import reverse

from migrationsim.lessons import LESSONS, get
from playground.anatomy.runner import SPEC_FIELDS
from playground.lessons import results


def page(response) -> str:
    return html.unescape(response.content.decode())


def wrong_choice(lesson, outcome):
    return next(c for c in lesson.choices if c.key != outcome.answer)


def test_the_list_links_every_lesson_anonymous(anon_client):
    response = anon_client.get(reverse("lessons"))
    assert response.status_code == 200
    for lesson in LESSONS:
        assert reverse("lesson", args=[lesson.slug]) in response.content.decode()
        assert lesson.title in page(response)


@pytest.mark.django_db
def test_the_nav_links_the_lessons(anon_client):
    assert f'href="{reverse("lessons")}"' in anon_client.get(reverse("anatomy")).content.decode()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_lesson_asks_before_it_runs(anon_client, lesson):
    response = anon_client.get(reverse("lesson", args=[lesson.slug]))
    text = page(response)
    assert response.status_code == 200
    assert lesson.question in text
    for line in lesson.setup():
        assert line in text
    for choice in lesson.choices:
        assert f'value="{choice.key}"' in text and choice.text in text
    assert "lesson-result" not in text  # no answer before a prediction


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_lesson_with_a_pick_shows_its_runs_explanation_and_chart(anon_client, lesson):
    outcome = results.outcome_of(lesson)
    response = anon_client.get(reverse("lesson", args=[lesson.slug]), {"pick": outcome.answer})
    text = page(response)
    assert response.status_code == 200
    assert "Your prediction was right." in text
    for paragraph in outcome.explanation:
        assert paragraph in text
    assert outcome.verdict in text
    for label, values in outcome.figures:
        assert label in text and all(v in text for v in values)
    chart = json.loads(
        re.search(r'id="lesson-chart-data" type="application/json">(.*?)</script>', text, re.S)[1]
    )
    assert chart["traces"][0]["y"] == outcome.chart["traces"][0]["y"]


def test_the_right_answer_is_the_runs_not_the_pages(anon_client, monkeypatch):
    """Change the lesson's run (through the same cache the page reads) and the page follows."""
    lesson = get("write-heavy-never-converges")
    light = lesson.outcome({"guest": {**lesson.run_params["guest"], "workload": "web"}})
    monkeypatch.setattr(results, "outcome_of", lambda _lesson: light)
    response = anon_client.get(reverse("lesson", args=[lesson.slug]), {"pick": light.answer})
    text = page(response)
    assert light.answer == "converges"
    assert "Your prediction was right." in text
    assert light.explanation[-1] in text


def test_a_wrong_pick_is_told_so_with_the_right_answer_marked(anon_client):
    lesson = get("maintenance-event-notice")
    outcome = results.outcome_of(lesson)
    wrong = wrong_choice(lesson, outcome)
    response = anon_client.get(reverse("lesson", args=[lesson.slug]), {"pick": wrong.key})
    text = page(response)
    assert "Your prediction was not right." in text
    assert f"You predicted: “{wrong.text}”" in text
    assert re.search(
        rf'lesson-answer">\s*<input type="radio" name="pick" id="pick-{outcome.answer}"', text
    )


def test_the_share_link_is_the_page_with_the_pick(anon_client):
    lesson = get("downtime-limit-trade")
    url = reverse("lesson", args=[lesson.slug])
    response = anon_client.get(url, {"pick": "trade"})
    assert f'href="{url}?pick=trade"' in response.content.decode()
    assert 'name="pick" id="pick-trade" value="trade" required checked' in response.content.decode()


def test_an_unknown_pick_is_refused_next_to_the_choices(anon_client):
    response = anon_client.get(
        reverse("lesson", args=["write-heavy-never-converges"]), {"pick": "<script>"}
    )
    assert response.status_code == 422
    assert "Pick one of the predictions first." in page(response)
    assert "<script>" not in response.content.decode().split("<main", 1)[1].split("</main>")[0]


def test_an_unknown_lesson_is_a_404(anon_client):
    assert anon_client.get("/lessons/no-such-lesson/").status_code == 404


def test_htmx_gets_the_lessons_body_only(anon_client):
    lesson = get("post-migration-brownout-forwarding")
    outcome = results.outcome_of(lesson)
    response = anon_client.get(
        reverse("lesson", args=[lesson.slug]), {"pick": outcome.answer}, HTTP_HX_REQUEST="true"
    )
    text = page(response)
    assert text.lstrip().startswith('<div id="lesson-play">')
    assert "<html" not in text and outcome.explanation[0] in text


def test_only_get(anon_client):
    assert (
        anon_client.post(reverse("lesson", args=["write-heavy-never-converges"])).status_code == 405
    )


@pytest.mark.django_db
def test_the_anatomy_form_links_its_lessons(anon_client):
    text = anon_client.get(reverse("anatomy")).content.decode()
    assert reverse("lesson", args=["write-heavy-never-converges"]) in text
    assert reverse("lesson", args=["rack-evacuation-binding-limit"]) not in text


@pytest.mark.django_db
def test_a_runs_page_links_the_single_vm_lessons(client, user):
    from playground.anatomy.models import Run

    run = Run.objects.create(params={"memory": "4GiB"}, seed=1, owner=user)
    text = client.get(run.get_absolute_url()).content.decode()
    assert reverse("lesson", args=["auto-converge-vs-post-copy"]) in text
    assert reverse("lesson", args=["rack-evacuation-binding-limit"]) not in text


@pytest.mark.django_db
def test_a_fleet_run_and_a_plan_link_the_rack_evacuation(client, alice, monkeypatch):
    from migrationsim.fleet.plan import plan as plan_of
    from playground.fleets import services as fleet_services
    from playground.runs import tasks

    from .fleet_support import tiny

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    rack = reverse("lesson", args=["rack-evacuation-binding-limit"])
    run = fleet_services.start_run(
        scenario=tiny(), plan=plan_of(tiny()), queue=False, visitor=alice
    )
    assert rack in client.get(reverse("fleet-run", args=[run.pk])).content.decode()
    fleet = fleet_services.create_fleet(scenario=tiny(), visitor=alice)
    assert rack in client.get(reverse("fleet-plan", args=[fleet.pk])).content.decode()


@pytest.mark.django_db
def test_a_fleet_page_links_only_the_lessons_about_its_kind_of_maintenance(
    client, alice, monkeypatch
):
    """The `hw-failure` preset's plan linked the rack evacuation (a kernel upgrade): a lesson
    about one kind of event is linked beside that kind only (`EVENT_KIND_LESSONS`); the plan of
    a failing host links no such lesson, its run keeps the lessons about every fleet."""
    from migrationsim.fleet.plan import plan as plan_of
    from migrationsim.fleet.text import preset_scenario
    from migrationsim.lessons import EVENT_KIND_LESSONS, for_scenario
    from playground.fleets import services as fleet_services
    from playground.runs import tasks

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    rack = reverse("lesson", args=["rack-evacuation-binding-limit"])
    notice = reverse("lesson", args=["maintenance-event-notice"])
    assert get("rack-evacuation-binding-limit") in EVENT_KIND_LESSONS["kernel_upgrade"]

    failing = fleet_services.create_fleet_from_preset(preset="hw-failure", visitor=alice)
    text = client.get(reverse("fleet-plan", args=[failing.pk])).content.decode()
    assert rack not in text and 'class="lesson-links"' not in text
    demo = fleet_services.create_fleet_from_preset(preset="demo", visitor=alice)
    assert rack in client.get(reverse("fleet-plan", args=[demo.pk])).content.decode()

    scenario = preset_scenario("hw-failure")
    run = fleet_services.start_run(
        scenario=scenario, plan=plan_of(scenario), queue=False, visitor=alice
    )
    text = client.get(reverse("fleet-run", args=[run.pk])).content.decode()
    assert rack not in text and notice in text
    for kind in ("bios_rollout", "urgent_patch", "hw_failure"):
        only = {"events": [{"kind": kind, "scope": {"zone": True}}]}
        assert get("rack-evacuation-binding-limit") not in for_scenario("plan", only)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [lesson.slug for lesson in LESSONS if "run" in lesson.topics])
def test_the_anatomy_player_replays_the_lessons_own_run(anon_client, monkeypatch, slug):
    """Each "watch it in the anatomy player" form makes a run of the very spec the lesson ran."""
    from migrationsim import build_spec
    from playground.anatomy.models import Run
    from playground.anatomy.runner import spec_kwargs
    from playground.runs import tasks

    monkeypatch.setattr(tasks.execute_run, "delay", lambda kind, run_id: None)
    lesson = get(slug)
    outcome = results.outcome_of(lesson)
    text = anon_client.get(
        reverse("lesson", args=[slug]), {"pick": outcome.answer}
    ).content.decode()
    forms = re.findall(r'<form method="post" action="/runs/">(.*?)</form>', text, re.S)
    playable = [(k, p) for k, p in lesson.runs if set(p) <= set(SPEC_FIELDS)]
    assert forms and len(forms) == len(playable)
    for (key, params), form in zip(playable, forms, strict=True):
        posted = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
        posted.pop("csrfmiddlewaretoken")
        response = anon_client.post(reverse("runs"), posted)
        assert response.status_code == 302, response.content.decode()[-2000:]
        run = Run.objects.latest("pk")
        assert build_spec(**spec_kwargs(run.params)) == build_spec(**params)
        assert lesson.label(key) in form


def test_a_run_the_form_cannot_say_gets_no_player(anon_client):
    lesson = get("post-migration-brownout-forwarding")
    outcome = results.outcome_of(lesson)
    text = anon_client.get(
        reverse("lesson", args=[lesson.slug]), {"pick": outcome.answer}
    ).content.decode()
    assert "No forwarding" not in text.split('id="lesson-players"', 1)[-1].split("</div>")[0]
    assert "Watch “Forwarding” in the anatomy player" in text
