"""A learner signs in through a personal link and appears as present on the facilitator's page."""

import json

import pytest

from tests.chromium import wait_true
from tests.servers import DEMO_ROSTER as ROSTER
from tests.servers import cli, companion

pytestmark = pytest.mark.browser


def test_learner_signs_in_and_shows_as_present_to_the_facilitator(browser, tmp_path):
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    with companion("--store", store, "--rehearsal-start", "2026-05-13T14:05:00Z", env=env) as url:
        links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        by_email = {x["email"]: x for x in links}
        facilitator = by_email["dana.whitcombe@example.org"]  # adult track
        learner = by_email["priya.raman@example.org"]  # adult-track learner

        staff_ctx = browser.new_context()
        staff = staff_ctx.new_page()
        staff.goto(facilitator["link"])
        staff.wait_for_selector("#conn-status.conn-live")
        row = staff.locator(".person", has_text="Priya Raman")
        assert "offline" in row.get_attribute("class")

        learner_ctx = browser.new_context()
        page = learner_ctx.new_page()
        page.goto(learner["link"])
        page.wait_for_selector("#conn-status.conn-live")
        assert "Priya Raman · learner" in page.inner_text(".topbar")
        assert page.locator("#presence").count() == 0  # learners do not see presence

        wait_true(
            staff,
            "document.querySelector('.person[data-person] .pname') && "
            "[...document.querySelectorAll('.person.online .pname')]"
            ".some(e => e.textContent === 'Priya Raman')",
            5.0,
        )
        learner_ctx.close()  # she closes her laptop
        wait_true(
            staff,
            "![...document.querySelectorAll('.person.online .pname')]"
            ".some(e => e.textContent === 'Priya Raman')",
            5.0,
        )
        staff_ctx.close()


def test_a_learners_page_changes_room_by_itself_at_a_split_item(browser, tmp_path):
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    # In the break ten minutes before the first adult/pediatric split (11:30 ET on Day 1); once
    # the page is open the director moves the clock to 3 s before it, however long that took.
    with companion("--store", store, "--rehearsal-start", "2026-05-13T15:20:00Z", env=env) as url:
        links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        by_email = {x["email"]: x["link"] for x in links}
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(by_email["avery.whitfield@example.org"])
        page.wait_for_selector("#conn-status.conn-live")
        assert "Break" in page.inner_text("#where")
        page.evaluate("window.__sameDocument = true")
        director_ctx = browser.new_context()
        director = director_ctx.new_page()
        director.goto(by_email["director@example.org"])
        status = director.evaluate(
            "fetch('/director/clock/next', {method: 'POST', body: new URLSearchParams({lead: '3'})})"
            ".then(r => r.status)"
        )
        assert status == 200
        assert "Break" in page.inner_text("#where")
        wait_true(
            page,
            "document.querySelector('#where .where-label').textContent.includes('Pediatric session')",
            10.0,
        )
        assert page.evaluate("window.__sameDocument") is True
        assert "Scaffolds for a Comprehensive Palliative Care Assessment" in page.inner_text(
            "#where"
        )
        director_ctx.close()
        ctx.close()


def test_a_time_out_and_an_intensity_change_reach_the_sp_live(browser, tmp_path):
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    # Day 2, 11:20 ET: the "Delivering Serious News -- Practice" block.
    with companion("--store", store, "--rehearsal-start", "2026-05-14T15:20:00Z", env=env) as url:
        links = {
            x["email"]: x["link"]
            for x in json.loads(
                cli("links", "--json", "--store", store, "--base-url", url, env=env)
            )
        }
        director = browser.new_context().new_page()
        director.goto(links["director@example.org"])
        director.wait_for_selector("#conn-status.conn-live")
        director.fill("input[name=min_size]", "6")
        director.click("#rooms button[type=submit]")
        director.wait_for_selector(".tile")

        # The facilitator and the SP of the first adult group.
        fac_ctx, sp_ctx = browser.new_context(), browser.new_context()
        sp_page = sp_ctx.new_page()
        sp_page.goto(links["walter.greaves@example.org"])  # adult SP actor
        sp_page.wait_for_selector("#conn-status.conn-live")
        group = sp_page.locator(".teleprompter .eyebrow").first.text_content().split("·")[1].strip()
        facilitator = director.inner_text(f".tile[aria-label='{group}'] .pmeta").split(" · ")[0]
        fac_email = next(e for e in links if e.startswith(facilitator.lower().replace(" ", ".")))
        fac = fac_ctx.new_page()
        fac.goto(links[fac_email])
        fac.wait_for_selector("#conn-status.conn-live")

        fac.click(".rp-facilitator button:has-text('Start this case')")
        sp_page.wait_for_selector(".teleprompter .rp-title")
        fac.fill(".rp-facilitator input[name=goal]", "Ask before telling")
        fac.click(".rp-facilitator button:has-text('Begin turn')")
        sp_page.wait_for_selector(".teleprompter .rp-phase-running")
        fac.click(".rp-facilitator button.big:has-text('Time-out')")
        sp_page.wait_for_selector(".teleprompter .rp-phase-timeout", timeout=5000)
        assert "Time-out" in sp_page.inner_text(".teleprompter .rp-phase")
        # Half-way through typing a cue, a push replaces the controls: the words stay.
        fac.type(".rp-facilitator input[name=text]", "Look away and go quiet")
        fac.click(".rp-facilitator button:has-text('high')")
        sp_page.wait_for_selector(".teleprompter .intensity-high", timeout=5000)
        fac.wait_for_selector(".rp-facilitator button.current:has-text('high')")
        assert fac.input_value(".rp-facilitator input[name=text]") == "Look away and go quiet"
        fac.click(".rp-facilitator button:has-text('Send cue')")
        sp_page.wait_for_selector(
            ".tp-cues .cue.latest:has-text('Look away and go quiet')", timeout=5000
        )
        sp_page.screenshot(path=str(tmp_path / "sp.png"))
        for c in (fac_ctx, sp_ctx):
            c.close()
