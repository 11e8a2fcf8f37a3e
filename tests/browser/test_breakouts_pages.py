"""Day 3 in four browsers. In the opening plenary, learners talk beside the video: a message
reaches the others, a question is asked, upvoted and marked answered by the director. Then, in
the pain session, the director opens small groups inside it for a few minutes: the learner's
page moves to their group with a countdown, the learner raises a hand and the director's tile
shows it, and the page goes back when the director closes them; the director drops in on that
group from its tile and the learner sees who is visiting; a learner calls for help and a
facilitator of the track joins their room from the call."""

from __future__ import annotations

import csv
import json
import re
from datetime import timedelta

import pytest

from server.content.course import load_course
from server.domain.agenda import build_schedule
from tests.chromium import course_from, wait_true
from tests.servers import DEMO_ROSTER

pytestmark = pytest.mark.browser

SCHEDULE = build_schedule(load_course())
PAIN = SCHEDULE.get("d3-02")
WELCOME = SCHEDULE.get("d3-01")  # the plenary before it


def text_has(page, words: str, timeout: float = 10.0) -> None:
    wait_true(page, f"document.body.innerText.includes({json.dumps(words)})", timeout)


def send(page, text: str, kind: str = "chat") -> None:
    form = page.locator("form.chat-form")
    form.locator(f"input[name=kind][value={kind}]").check()
    form.locator("textarea").fill(text)
    form.locator("textarea").press("Enter")  # Enter sends
    wait_true(page, "document.querySelector('form.chat-form textarea').value === ''")


def test_talk_a_quick_breakout_a_drop_in_and_joining_a_callers_room(browser, tmp_path, figure):
    start = WELCOME.start + timedelta(minutes=5)
    with course_from(browser, tmp_path, start) as (_url, people, open_page, errors):
        director = open_page(next(p for p in people if p["role"] == "director"))
        director.click("#rooms button[type=submit]")  # form the groups
        director.wait_for_selector(".tile")
        learners = [p for p in people if p["role"] == "learner"]
        learner, other = open_page(learners[0]), open_page(learners[1])

        # The plenary: a message reaches everyone; a question is asked, upvoted, answered.
        send(learner, "Good morning from <b>Boston</b>")
        other.locator("#talk .chat-text", has_text="Good morning from <b>Boston</b>").wait_for()
        assert other.locator("#talk-unread").text_content() == "1 new"  # until they look
        other.click("form.chat-form textarea")
        wait_true(other, "document.getElementById('talk-unread').hidden")
        send(learner, "Which opioid do you start with in renal failure?", "question")
        question = other.locator("#talk .question", has_text="renal failure")
        question.locator("button:has-text('Upvote')").click()
        director.locator("#talk .question .votes", has_text="▲ 1").wait_for()
        director.locator("#talk .question button:has-text('Mark answered')").click()
        learner.locator("#talk .question.answered", has_text="renal failure").wait_for()

        # The pain session, a track session without small groups.
        director.click("button:has-text('Jump to the next agenda item')")
        wait_true(
            learner,
            "document.querySelector('#where .where-label').textContent.includes('session')",
        )
        before = learner.inner_text("#where .where-label")
        assert "session" in before.lower(), before

        # The director opens the small groups for 10 minutes: the page moves with a countdown.
        director.fill("#breakout-minutes", "10")
        director.click("#visit button:has-text('Open small groups')")
        learner.locator("#where .breakout-line .countdown").wait_for(timeout=10000)
        label = learner.inner_text("#where .where-label")
        assert label.startswith("Small group "), label
        group = label.removeprefix("Small group ")
        countdown = learner.inner_text("#where .breakout-line .countdown")
        assert re.fullmatch(r"(9|10):\d\d", countdown), countdown
        # A hand raised in the group shows on the director's tile.
        learner.click("button:has-text('Raise or lower my hand')")
        tile = director.locator(f"article.tile[aria-label='{group}']")
        tile.locator(".badge", has_text="✋ 1").wait_for()
        send(learner, "We are ready in our group")  # and the tile counts it as new
        wait_true(
            director,
            f"(document.querySelector(\"article.tile[aria-label='{group}'] [data-talk-seqs]\")"
            " || {}).textContent === '1 new'",
        )
        # ... and closes them early: the page goes back by itself.
        director.click("#visit button:has-text('Close the small groups now')")
        wait_true(
            learner,
            "document.querySelector('#where .where-label').textContent === " + json.dumps(before),
        )

        # The director drops in on the learner's group from its tile.
        director.locator(f"article.tile[aria-label='{group}'] button:has-text('Drop in')").click()
        director.wait_for_selector("#conn-status.conn-live")
        text_has(director, f"visiting small group {group}")
        director.locator(f"#room-{group.lower().replace(' ', '-')}").wait_for(timeout=10000)
        learner.locator("#where .visitors", has_text="Visiting now").wait_for(timeout=10000)
        assert director.locator("#visit button:has-text('Leave the room')").count() == 1
        # Visiting, the director reads the group's talk: its tile no longer counts it as new.
        assert "We are ready in our group" in director.inner_text("#talk")
        director.click("form.chat-form textarea")
        wait_true(
            director,
            f"document.querySelector(\"article.tile[aria-label='{group}'] [data-talk-seqs]\")"
            ".hidden",
        )

        # A learner calls for help; a facilitator of the track joins their room from the call.
        learner.fill("#help-note", "Our SP has dropped out")
        learner.click("button:has-text('Call for help')")
        track = "adult" if group.lower().startswith("adult") else "pediatric"
        rows = csv.DictReader(DEMO_ROSTER.read_text().splitlines())
        tracks = {r["email"]: r["track"] for r in rows}
        fac = next(
            p
            for p in people
            if p["role"] == "facilitator" and tracks[p["email"]] in (track, "both")
        )
        facilitator = open_page(fac)
        call = facilitator.locator(".help-call", has_text="Our SP has dropped out")
        call.locator("button:has-text('Join their room')").click()
        facilitator.wait_for_selector("#conn-status.conn-live")
        text_has(facilitator, "Leave the room")
        assert errors == [], errors
        figure("pages moved by the quick breakout and back", 2)
