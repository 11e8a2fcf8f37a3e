"""Each role's live page is one console: during a turn of the Day 2 practice block, on a laptop
(1280×800) the page does not scroll and the role's main controls are all on screen; on a phone
(390×844) the role's primary control is on the first screen, the secondary panels are folded and
nothing is wider than the screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from server.content.course import load_course
from server.domain.agenda import Kind, build_schedule
from tests.chromium import course_from, wait_true

pytestmark = pytest.mark.browser

DAY2 = build_schedule(load_course()).day_items(2)
PRACTICE = next(s for s in DAY2 if s.item.kind is Kind.PRACTICE)
LAPTOP, PHONE = (1280, 800), (390, 844)

MEASURE = """sel => {
  const d = document.documentElement;
  const el = sel && document.querySelector(sel);
  const r = el ? el.getBoundingClientRect() : null;
  return {height: d.scrollHeight, width: d.scrollWidth, vh: innerHeight, vw: innerWidth,
          top: r && r.top, bottom: r && r.bottom, left: r && r.left, right: r && r.right};
}"""


def on_screen(page, selector: str) -> dict:
    """Where `selector` is, and how big the document is; fails if `selector` is not wholly on
    the first screen."""
    page.wait_for_selector(selector)
    m = page.evaluate(MEASURE, selector)
    assert m["top"] >= 0 and m["bottom"] <= m["vh"], (selector, m)
    assert m["left"] >= 0 and m["right"] <= m["vw"], (selector, m)
    return m


def test_every_roles_console_fits_a_laptop_screen_and_leads_with_its_control_on_a_phone(
    browser, tmp_path, figure
):
    start = PRACTICE.start + timedelta(minutes=1)
    with course_from(browser, tmp_path, start, media=True) as (_url, people, open_page, errors):
        director_p = next(p for p in people if p["role"] == "director")
        director = open_page(director_p, *LAPTOP)
        director.click("#rooms button[type=submit]")  # form the groups
        director.wait_for_selector(".tile")
        learners = [p for p in people if p["role"] == "learner"]
        hot_p = learners[0]
        hot = open_page(hot_p, *LAPTOP)
        card = hot.inner_text("#where .group-card")
        names = {p["name"]: p for p in people}
        fac_p = names[re.search(r"Facilitator: ([^·\n]+)", card).group(1).strip()]
        sp_p = names[re.search(r"SP actor: ([^\n,]+)", card).group(1).strip()]
        members = [x.strip() for x in hot.locator("#where .pname").all_inner_texts()]
        peer_p = next(p for p in learners[1:] if p["name"] in members)

        # A turn is running: the facilitator started the case, a learner is in the hot seat,
        # the SP has had a cue.
        fac = open_page(fac_p, *LAPTOP)
        fac.click(".rp-facilitator button:has-text('Start this case')")
        begin = fac.locator(".rp-facilitator form:has(button:has-text('Begin turn'))")
        option = begin.locator("select[name=learner] option", has_text=hot_p["name"])
        begin.locator("select[name=learner]").select_option(option.get_attribute("value"))
        begin.locator("input[name=goal]").fill("Name the emotion")
        begin.locator("button[type=submit]").click()
        fac.wait_for_selector(".rp-facilitator .rp-phase-running")
        fac.fill(".rp-facilitator input[name=text]", "Ask about the wedding in October")
        fac.click(".rp-facilitator button:has-text('Send cue')")

        # What each role must reach without scrolling the page: (person, selectors on a
        # laptop, the primary control on a phone).
        jobs = {
            "facilitator": (
                fac_p,
                [
                    "#media-join",
                    ".rp-facilitator .rp-phase",
                    ".rp-facilitator button.big",  # Time-out
                    ".rp-facilitator input[name=text]",  # cue
                    ".rp-facilitator button.small.current",  # intensity
                    ".tally h3",
                ],
                ".rp-facilitator button.big",
            ),
            "sp": (
                sp_p,
                ["#media-join", ".rp-sp .tp-cues .cue.latest", ".rp-sp .tp-say"],
                ".rp-sp .tp-cues .cue.latest",
            ),
            "learner in the hot seat": (
                hot_p,
                ["#media-join", "#where .where-label", ".rp-learner button.big"],
                ".rp-learner button.big",
            ),
            "observer": (
                peer_p,
                ["#media-join", "#where .where-label", ".fb-form .fb-goal, .fb-form legend"],
                ".fb-form legend",
            ),
            "director": (
                director_p,
                ["#rooms button[type=submit]", ".tile", "#now .now-title", "#people h2"],
                "#rooms h2",
            ),
        }
        sizes = {}
        for role, (person, laptop, primary) in jobs.items():
            page = open_page(person, *LAPTOP)
            wait_true(page, "document.querySelector('#conn-status.conn-live') !== null")
            for selector in laptop:
                m = on_screen(page, selector)
            assert m["height"] <= m["vh"] and m["width"] <= m["vw"], (role, "laptop", m)
            laptop_height = m["height"]
            phone = open_page(person, *PHONE)
            m = on_screen(phone, primary)
            assert m["width"] <= m["vw"], (role, "phone is wider than the screen", m)
            folded = phone.evaluate(
                "[...document.querySelectorAll('details[data-fold]')].every(d => !d.open)"
            )
            assert folded, (role, "secondary panels should start folded on a phone")
            sizes[role] = {"laptop_px": laptop_height, "phone_px": m["height"]}
            page.context.close()
            phone.context.close()
        figure("document height by role", sizes)
        assert errors == []


def test_between_practices_the_consoles_leave_no_empty_pane_and_still_fit(browser, tmp_path):
    """At a plenary there is no role-play or feedback: the panes that would hold them are gone
    and the others share the screen; the learner's one pane lays its panels side by side."""
    with course_from(browser, tmp_path, DAY2[0].start + timedelta(minutes=1), media=True) as (
        _url,
        people,
        open_page,
        errors,
    ):
        director = open_page(next(p for p in people if p["role"] == "director"), *LAPTOP)
        director.click("#rooms button[type=submit]")
        director.wait_for_selector(".tile")
        for role in ("learner", "facilitator", "sp"):
            person = next(p for p in people if p["role"] == role)
            page = open_page(person, *LAPTOP)
            panes = page.evaluate(
                """[...document.querySelectorAll('.pane')]
                  .filter(p => getComputedStyle(p).display !== 'none')
                  .map(p => [p.className, p.getBoundingClientRect().width,
                             [...p.children].filter(c => !c.hidden).length])"""
            )
            assert panes and all(n > 0 for _, _, n in panes), (role, panes)
            assert sum(w for _, w, _ in panes) > 0.9 * (LAPTOP[0] - 60), (role, panes)
            m = on_screen(page, "#now .now-title")
            assert m["height"] <= m["vh"], (role, m)
            if role == "learner":  # the where card beside the video, not below it
                where, media = (page.locator(sel).bounding_box() for sel in ("#where", "#media"))
                assert where["x"] > media["x"] + media["width"] - 1, (where, media)
            page.context.close()
        assert errors == []
