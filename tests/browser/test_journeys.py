"""A morning of Day 2 in four browsers, driven only through the pages: the director forms the
groups and moves the rehearsal clock item by item; a learner's page follows the agenda into the
plenary, their small group and lunch; in the practice block the facilitator starts a case and a
turn, the SP follows it on the teleprompter, the learner in the hot seat calls a time-out, a peer
sends feedback, the facilitator releases it at debrief and the learner reads it and writes what
they will do next time, then a reflection, and at the end of the day the daily evaluation."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from server.content.course import load_course
from server.domain.agenda import Kind, build_schedule
from server.domain.rooms import GROUP_KINDS
from tests.chromium import course_from, wait_true

pytestmark = pytest.mark.browser

SCHEDULE = build_schedule(load_course())
DAY2 = SCHEDULE.day_items(2)
PRACTICE = next(s for s in DAY2 if s.item.kind is Kind.PRACTICE)
START = DAY2[0].start + timedelta(minutes=1)
WORKED = "You named the emotion before explaining"


def text_has(page, words: str, timeout: float = 10.0) -> None:
    wait_true(page, f"document.body.innerText.includes({json.dumps(words)})", timeout)


def where_is(page, title: str, timeout: float = 10.0) -> str:
    """Wait until the page's "Where to be now" shows agenda item `title`; its label."""
    wait_true(
        page,
        "(document.querySelector('#where .when') || {}).textContent === " + json.dumps(title),
        timeout,
    )
    return page.inner_text("#where .where-label")


def jump_to(director, item) -> None:
    """The director jumps the clock to the next item, `item`, and sees it confirmed."""
    director.click("button:has-text('Jump to the next agenda item')")
    wait_true(
        director,
        "document.getElementById('director-result').textContent.includes("
        + json.dumps(f"\u201c{item.item.title}\u201d")
        + ")",
    )


def test_a_morning_of_practice_through_every_role_page(browser, tmp_path, figure):
    with course_from(browser, tmp_path, START) as (url, people, open_page, errors):
        director = open_page(next(p for p in people if p["role"] == "director"))
        director.click("#rooms button[type=submit]")  # form the groups
        director.wait_for_selector(".tile")
        learners = [p for p in people if p["role"] == "learner"]
        hot = open_page(learners[0])
        where_is(hot, DAY2[0].item.title)
        group = re.search(r"Your small group: (.+?) \(", hot.inner_text("#where")).group(1)
        card = hot.inner_text("#where .group-card")
        names = {p["name"]: p for p in people}
        fac_name = re.search(r"Facilitator: ([^·\n]+)", card).group(1).strip()
        sp_name = re.search(r"SP actor: ([^\n,]+)", card).group(1).strip()
        facilitator, sp = open_page(names[fac_name]), open_page(names[sp_name])
        member_names = [x.strip() for x in hot.locator("#where .pname").all_inner_texts()]
        peer = open_page(next(p for p in learners[1:] if p["name"] in member_names))

        # The director moves the clock item by item; the learner's page follows each one.
        moves = 0
        for item in DAY2[1:]:
            director.click("button:has-text('Jump to the next agenda item')")
            label = where_is(hot, item.item.title)
            if item.item.kind in GROUP_KINDS:
                assert label == f"Small group {group}", label
            elif item.item.kind in (Kind.BREAK, Kind.LUNCH, Kind.TRANSITION):
                assert label == item.item.title, label
            elif not item.item.split_by_track:
                assert label.startswith("Plenary"), label
            moves += 1
            if item is PRACTICE:
                break

        # The practice block: the facilitator starts a case and the learner's turn.
        rp = facilitator.locator(".rp-facilitator").first
        rp.locator("button:has-text('Start this case')").click()
        case = facilitator.locator(".rp-facilitator .rp-title").first
        case.wait_for()
        title = case.inner_text()
        text_has(sp, title)
        text_has(hot, title)
        begin = facilitator.locator(".rp-facilitator form:has(button:has-text('Begin turn'))")
        option = begin.locator("select[name=learner] option", has_text=learners[0]["name"])
        begin.locator("select[name=learner]").select_option(option.get_attribute("value"))
        begin.locator("input[name=goal]").fill("Name the emotion")
        begin.locator("button[type=submit]").click()
        text_has(hot, "You are in the hot seat")  # the page speaks to the person in it
        text_has(peer, f"{learners[0]['name']} is in the hot seat")
        text_has(sp, f"Clinician: {learners[0]['name']}")  # the SP knows who they are facing
        # The learner in the hot seat calls a time-out; everyone sees it; the facilitator resumes.
        hot.locator(".rp-learner button:has-text('Time-out')").click()
        for page in (facilitator, sp, peer):
            text_has(page, "Time-out")
        facilitator.locator(".rp-facilitator button:has-text('Time-in')").click()
        wait_true(
            hot,
            "document.querySelector('.rp-learner .rp-phase').textContent"
            ".includes('Time-out') === false",
        )

        # A peer sends feedback for the turn; the facilitator's tally counts it.
        form = peer.locator("form.fb-form").first
        assert "Name the emotion" in form.inner_text()
        form.locator("input[type=radio]").first.check()
        form.locator("textarea[name='a.worked']").fill(WORKED)
        form.locator("button[type=submit]").click()
        peer.wait_for_selector(".fb-form .saved-note")
        wait_true(
            facilitator,
            "document.querySelector('.tally') && "
            "document.querySelector('.tally').innerText.includes('1 of')",
        )
        assert WORKED not in hot.content()  # not before release

        # Debrief: released to the learner, who writes what they will do next time.
        facilitator.locator(".rp-facilitator button:has-text('End turn')").click()
        facilitator.locator(".tally button", has_text="Release").click()
        text_has(hot, WORKED)
        nxt = hot.locator("form.fb-form:has(textarea[name=text])").first
        nxt.locator("textarea[name=text]").fill("Pause longer after the news")
        nxt.locator("button[type=submit]").click()
        text_has(hot, "Pause longer after the news")

        # Lunch: the learner's page moves to the break.
        after = DAY2[DAY2.index(PRACTICE) + 1 :]
        lunch = next(s for s in after if s.item.kind is Kind.LUNCH)
        for item in after[: after.index(lunch) + 1]:
            director.click("button:has-text('Jump to the next agenda item')")
            where_is(hot, item.item.title)
            moves += 1
        assert hot.inner_text("#where .where-label") == lunch.item.title

        # A reflection, private by default.
        hot.goto(url + "/reflections")
        hot.locator("form textarea[name=text]").first.fill("I rushed the silence at first")
        hot.locator("form:has(textarea[name=text]) button[type=submit]").first.click()
        # Saved, the page reloads with the entry listed (private until shared).
        entry = hot.locator("article.reflection", has_text="I rushed the silence at first")
        entry.first.wait_for(timeout=10000)
        assert "Share with my group" in entry.first.inner_text()

        # The day's last item opens the daily evaluation; the learner fills it in.
        rest = after[after.index(lunch) + 1 :]
        for item in rest:
            jump_to(director, item)
            moves += 1
        hot.goto(url + "/evaluations/day-2")
        form = hot.locator("form.fb-form")
        for name in ("a.objectives", "a.practice", "a.safety", "a.pace"):
            form.locator(f"input[name='{name}']").nth(3).check()
        form.locator("textarea").first.fill("The time-outs, because I could try again")
        form.locator("button[type=submit]").click()
        hot.locator(".saved-note", has_text="Submitted").wait_for(timeout=10000)
        assert errors == [], errors
        figure("role pages driven", 5)
        figure("agenda moves followed by the learner's page", moves)


DAY3 = SCHEDULE.day_items(3)


def test_the_last_day_ends_with_the_course_evaluation_credit_and_a_certificate(
    browser, tmp_path, figure
):
    """Day 3 in two browsers: the learner attends while the director moves the clock to the
    course's last item; the course evaluation opens, the learner submits it, claims the credit
    their attendance earned and opens their certificate; the director's people list shows it."""
    start = DAY3[0].start + timedelta(minutes=1)
    with course_from(browser, tmp_path, start) as (url, people, open_page, errors):
        director = open_page(next(p for p in people if p["role"] == "director"))
        learner_link = next(p for p in people if p["role"] == "learner")
        learner = open_page(learner_link)
        # Before the last item the course evaluation is not open yet.
        learner.goto(url + "/evaluations/course")
        assert "opens" in learner.inner_text("main").lower()
        learner.goto(url + "/")
        learner.wait_for_selector("#conn-status.conn-live")
        for item in DAY3[1:]:
            jump_to(director, item)
        # The course's last item: the evaluation is open.
        learner.goto(url + "/me")
        assert "after you submit the course evaluation" in learner.inner_text("main")
        learner.goto(url + "/evaluations/course")
        form = learner.locator("form.fb-form")
        for name in ("a.objectives", "a.knowledge", "a.communication", "a.relevance", "a.online"):
            form.locator(f"input[name='{name}']").nth(3).check()
        form.locator("input[name='a.balance']").first.check()
        form.locator("textarea[name='a.commitment']").fill("Ask permission before the news")
        form.locator("button[type=submit]").click()
        learner.locator(".saved-note", has_text="Submitted").wait_for(timeout=10000)

        # Credit: as much as the attendance earned, then the certificate.
        learner.goto(url + "/me")
        earned = float(learner.inner_text(".big-figure strong"))
        assert earned >= 1.0, earned  # present through the day's sessions
        claim = learner.locator("form:has(button:has-text('Claim credit'))")
        assert float(claim.locator("input[name=credits]").input_value()) == earned
        claim.locator("button[type=submit]").click()
        learner.locator(".flash", has_text="Claimed").wait_for(timeout=10000)
        learner.goto(url + "/me")
        learner.click("a:has-text('Open your certificate')")
        certificate = learner.inner_text("main")
        assert learner_link["name"] in certificate and f"{earned:.2f}" in certificate

        # The director sees it in the people list, live.
        row = director.locator(f"tr:has-text('{learner_link['name']}')")
        wait_true(
            director,
            "[...document.querySelectorAll('#people-learner tr')].some(r => "
            f"r.textContent.includes({json.dumps(learner_link['name'])}) && "
            "r.textContent.includes('evaluation ✓') && r.textContent.includes('credits claimed'))",
        )
        assert row.locator("a:has-text('Certificate')").count() == 1
        assert errors == [], errors
        figure("credits claimed after a day's attendance", earned)
