"""Day 3's pain session in three browsers: the director opens small groups inside it for a few
minutes, the learner's page moves to their group with a countdown, and back when the director
closes them; the director drops in on that group from its tile and the learner sees who is
visiting; a learner calls for help and a facilitator of the track joins their room from the
call."""

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


def text_has(page, words: str, timeout: float = 10.0) -> None:
    wait_true(page, f"document.body.innerText.includes({json.dumps(words)})", timeout)


def test_a_quick_breakout_a_drop_in_and_joining_a_callers_room(browser, tmp_path, figure):
    start = PAIN.start + timedelta(minutes=5)
    with course_from(browser, tmp_path, start) as (_url, people, open_page, errors):
        director = open_page(next(p for p in people if p["role"] == "director"))
        director.click("#rooms button[type=submit]")  # form the groups
        director.wait_for_selector(".tile")
        learner = open_page(next(p for p in people if p["role"] == "learner"))
        text_has(learner, "session")
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
