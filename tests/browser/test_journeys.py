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
WRITTEN_ID = "news-written-in-the-browser"
WRITTEN_TITLE = "A case written in the browser: news for a daughter"


def author_a_case(director, url: str, track: str) -> None:
    """The director writes a case from a template in the browser: a live error by field, then
    valid, previewed as the SP sees it, and published."""
    director.goto(url + "/author")
    new = director.locator("form.new-entry")
    prefix = "adult-" if track == "adult" else "peds-"
    value = new.locator("select[name=from] option").evaluate_all(
        f"os => os.map(o => o.value).find(v => v.startsWith({json.dumps(prefix)}))"
    )
    new.locator("select[name=from]").select_option(value)
    new.locator("input[name=id]").fill(f"{prefix}{WRITTEN_ID}")
    new.locator("button[type=submit]").click()
    box = director.locator("#author-yaml")
    text = box.input_value()
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    text = text.replace(title, f'title: "{WRITTEN_TITLE}"')
    box.fill(text.replace("\nlevel: ", "\nlevle: "))  # a typo: the check names the field
    director.locator("#author-check .problems", has_text="levle").wait_for(timeout=10000)
    box.fill(text)
    director.locator("#author-check .ok", has_text="Valid").wait_for(timeout=10000)
    preview = director.locator("details.preview", has_text="as the SP actor")
    shown = preview.inner_text()
    assert WRITTEN_TITLE in shown and "your script" in shown.lower(), shown
    director.locator("form.author-text button[type=submit]").click()
    director.locator("#author-result", has_text="Published version 1").wait_for(timeout=10000)
    director.goto(url + "/")
    director.wait_for_selector("#conn-status.conn-live")


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
        author_a_case(director, url, "adult" if group.lower().startswith("adult") else "pediatric")

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
        # The facilitator starts the case the director wrote in the browser.
        rp = facilitator.locator(".rp-facilitator").first
        written = rp.locator("select[name=scenario] option", has_text=WRITTEN_TITLE)
        rp.locator("select[name=scenario]").select_option(written.get_attribute("value"))
        rp.locator("button:has-text('Start this case')").click()
        case = facilitator.locator(".rp-facilitator .rp-title").first
        case.wait_for()
        title = case.inner_text()
        assert title == WRITTEN_TITLE
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
        form.locator("input[name='a.empathy'][value='3']").check()  # the global rating
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
        sp.locator(".rp-sp .aspe.sp-feedback").wait_for(timeout=10000)  # at debrief, out of role
        # The learner rates themselves first; the facilitator sees self against others.
        mine = hot.locator("details.self-rating form")
        mine.locator("input[name='a.empathy'][value='5']").check()
        mine.locator("button[type=submit]").click()
        text_has(hot, "Your self-rating (saved")
        text_has(facilitator, "Self against others")
        facilitator.locator(".tally button", has_text="Release").click()
        text_has(hot, WORKED)
        gap = hot.locator("table.gap", has_text="Demonstrates empathy").first
        assert re.search(r"Demonstrates empathy\s+5\s+3\.0.*\+2\.0", gap.inner_text()), (
            gap.inner_text()
        )
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


def submit_course_evaluation(page, url: str, profession: str) -> None:
    """Answer every required item of the course evaluation (a 4 on each rating), as a learner
    of `profession` who saw no bias, and submit it."""
    page.goto(url + "/evaluations/course")
    form = page.locator("form.fb-form")
    names = form.evaluate(
        "f => [...new Set([...f.querySelectorAll('input[type=radio]')].map(e => e.name))]"
    )
    for name in names:
        if name not in ("a.bias", "a.profession"):
            form.locator(f"input[name='{name}']").nth(3).check()
    form.locator("input[name='a.bias'][value='no']").check()
    form.locator(f"input[name='a.profession'][value='{profession}']").check()
    form.locator("textarea[name='a.commitment']").fill("Ask permission before the news")
    form.locator("button[type=submit]").click()
    page.locator(".saved-note", has_text="Submitted").wait_for(timeout=10000)


def claim(page, type_id: str, consent: bool = False) -> float:
    """Claim all that is earned of `type_id` on the learner's credit page; the amount."""
    card = page.locator(f"article.credit-type:has(#ct-{type_id})")
    form = card.locator("form.claim")
    amount = float(form.locator("input[name=amount]").input_value())
    form.locator("input[name=attest]").check()
    if consent:
        form.locator("input[name=consent]").check()
    form.locator("button[type=submit]").click()
    page.locator(f"article.credit-type:has(#ct-{type_id}) .flash", has_text="Claimed").wait_for(
        timeout=10000
    )
    return amount


def test_the_last_day_ends_with_the_course_evaluation_credit_and_a_certificate(
    browser, tmp_path, figure
):
    """Day 3 in four browsers: a physician, a nurse and a pharmacist attend while the director
    moves the clock to the course's last item; the course evaluation opens, each submits it and
    claims the credit of their profession their attendance earned (the physician AMA PRA
    Category 1 credit and ABIM MOC points with permission to share, the nurse contact hours with
    pharmacology hours, the pharmacist a certificate of participation), and opens the
    certificates; the director's people list shows it, and the PARS readiness on the credit
    report."""
    start = DAY3[0].start + timedelta(minutes=1)
    with course_from(browser, tmp_path, start) as (url, people, open_page, errors):
        director = open_page(next(p for p in people if p["role"] == "director"))
        by_email = {p["email"]: p for p in people}
        physician = by_email["imani.adeyemi@example.org"]
        nurse = by_email["jordan.okafor@example.org"]
        pharmacist = by_email["samuel.brennan@example.org"]
        pages = {p["email"]: open_page(p) for p in (physician, nurse, pharmacist)}
        doctor, rn, pharm = (pages[p["email"]] for p in (physician, nurse, pharmacist))
        # Before the last item the course evaluation is not open yet.
        doctor.goto(url + "/evaluations/course")
        assert "opens" in doctor.inner_text("main").lower()
        for page in pages.values():
            page.goto(url + "/")
            page.wait_for_selector("#conn-status.conn-live")
        for item in DAY3[1:]:
            jump_to(director, item)
        # The course's last item: the evaluation is open.
        doctor.goto(url + "/me")
        assert "after you submit the course evaluation" in doctor.inner_text("main")
        submit_course_evaluation(doctor, url, "physician")
        submit_course_evaluation(rn, url, "nurse")
        submit_course_evaluation(pharm, url, "pharmacist")

        # The physician: AMA PRA Category 1 credit, and ABIM MOC points shared with ABIM.
        doctor.goto(url + "/me")
        offered = doctor.eval_on_selector_all("article.credit-type h2", "hs => hs.map(h => h.id)")
        assert "ct-ama_pra_category_1" in offered and "ct-participation" not in offered
        ama = claim(doctor, "ama_pra_category_1")
        assert ama >= 1.0, ama  # present through the day's sessions
        points = claim(doctor, "abim_moc", consent=True)
        assert points == ama
        doctor.goto(url + "/certificate/ama_pra_category_1")
        text = doctor.inner_text("main")
        assert physician["name"] in text and f"claimed {ama:g} AMA PRA Category 1 Credits" in text
        doctor.goto(url + "/certificate/abim_moc")
        text = doctor.inner_text("main")
        assert "ABIM ID 100412" in text and "reported to ABIM" in text

        # The nurse: contact hours with the pharmacology hours of the symptom sessions, no AMA.
        rn.goto(url + "/me")
        offered = rn.eval_on_selector_all("article.credit-type h2", "hs => hs.map(h => h.id)")
        assert "ct-ama_pra_category_1" not in offered
        hours = claim(rn, "nursing_contact_hours")
        pharmacology = claim(rn, "pharmacology_hours")
        assert 0 < pharmacology <= 3.75 and pharmacology <= hours
        rn.goto(url + "/certificate/nursing_contact_hours")
        text = rn.inner_text("main")
        assert f"claimed {hours:g} nursing contact hours" in text
        assert f"of which {pharmacology:g} pharmacology contact hours" in text
        assert "AMA PRA" not in text

        # The pharmacist: a certificate of participation stating the designation and the hours.
        pharm.goto(url + "/me")
        offered = pharm.eval_on_selector_all("article.credit-type h2", "hs => hs.map(h => h.id)")
        assert offered == ["ct-participation"]
        attended = claim(pharm, "participation")
        pharm.click("article.credit-type .flash a:has-text('Open the certificate')")
        text = pharm.inner_text("main")
        assert "certificate of participation" in text.lower()
        assert f"attended {attended:g} hours" in text
        assert "designates this live activity for a maximum of 16.00 AMA PRA" in text
        assert "claimed" not in text.lower()  # stated, not claimed

        # The director sees it in the people list, live, and on the credit report.
        row = director.locator(f"tr:has-text('{physician['name']}')")
        wait_true(
            director,
            "[...document.querySelectorAll('#people-learner tr')].some(r => "
            f"r.textContent.includes({json.dumps(physician['name'])}) && "
            "r.textContent.includes('evaluation ✓') && r.textContent.includes('claimed 2 credit')"
            ")",
        )
        assert row.locator("a:has-text('Certificate')").count() == 1
        director.goto(url + "/director/credit")
        report = director.inner_text("main")
        assert "No PARS activity id" in report and "16.50" in report
        cells = director.locator("tr:has-text('ABIM MOC points') td").all_inner_texts()
        assert cells[2:4] == ["1", "1"], cells  # claimed, and ready to report
        assert errors == [], errors
        figure("credits claimed after a day's attendance", ama)
