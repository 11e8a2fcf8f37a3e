"""A learner signs in through a personal link and appears as present on the facilitator's page."""

import json
import os
import subprocess
import sys

import pytest

from tests.servers import ROOT, companion

pytestmark = pytest.mark.browser

ROSTER = ROOT / "scenarios" / "demo" / "roster.csv"


def cli(*args, env):
    r = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True,
                       text=True, env={**os.environ, **env}, cwd=ROOT)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


def test_learner_signs_in_and_shows_as_present_to_the_facilitator(browser, tmp_path):
    env = {"COMPANION_SECRET": "browser-test"}
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

        staff.wait_for_function(
            "document.querySelector('.person[data-person] .pname') && "
            "[...document.querySelectorAll('.person.online .pname')]"
            ".some(e => e.textContent === 'Priya Raman')",
            timeout=5000,
        )
        learner_ctx.close()  # she closes her laptop
        staff.wait_for_function(
            "![...document.querySelectorAll('.person.online .pname')]"
            ".some(e => e.textContent === 'Priya Raman')",
            timeout=5000,
        )
        staff_ctx.close()


def test_a_learners_page_changes_room_by_itself_at_a_split_item(browser, tmp_path):
    env = {"COMPANION_SECRET": "browser-test"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    # Four seconds before the first adult/pediatric split (11:30 ET on Day 1).
    with companion("--store", store, "--rehearsal-start", "2026-05-13T15:29:56Z", env=env) as url:
        links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        link = next(x["link"] for x in links if x["email"] == "avery.whitfield@example.org")
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(link)
        page.wait_for_selector("#conn-status.conn-live")
        assert "Break" in page.inner_text("#where")
        page.evaluate("window.__sameDocument = true")
        page.wait_for_function(
            "document.querySelector('#where .where-label').textContent.includes('Pediatric session')",
            timeout=10_000,
        )
        assert page.evaluate("window.__sameDocument") is True
        assert "Scaffolds for a Comprehensive Palliative Care Assessment" in page.inner_text("#where")
        ctx.close()
