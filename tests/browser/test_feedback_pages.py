"""Feedback is never lost in the browser: a reply lost on the way, going offline, reloading and
coming back still leaves the submission stored exactly once; a draft survives a reload."""

import json
import re

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.chromium import wait_true
from tests.servers import DEMO_ROSTER as ROSTER
from tests.servers import cli, companion

pytestmark = pytest.mark.browser

DAY2_PRACTICE = "2026-05-14T15:20:00Z"  # Day 2, 11:20 ET: role-play practice
WORKED = "You let the silence sit after the news"


def group_of(ctx, url):
    html = ctx.request.get(url + "/").text()
    found = re.search(r"Role-play(?: controls)? · ([^<]+)</h2>", html)
    return found.group(1).strip() if found else None


def stored_feedback(store, env):
    return json.loads(cli("export", "feedback", "--format", "json", "--store", store, env=env))


def test_feedback_survives_a_lost_reply_going_offline_and_reloading(browser, tmp_path):
    browser.expect("net::ERR_FAILED")  # the page is taken offline on purpose
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store, env=env)
    with companion("--store", store, "--rehearsal-start", DAY2_PRACTICE, env=env) as url:
        links = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        contexts = {}

        def ctx_for(person):
            if person["email"] not in contexts:
                ctx = browser.new_context()
                ctx.request.get(person["link"])  # signs in: the context keeps the cookie
                contexts[person["email"]] = ctx
            return contexts[person["email"]]

        director = next(x for x in links if x["role"] == "director")
        r = ctx_for(director).request.post(
            url + "/director/groups/assign",
            form={"seed": "3", "min_size": "4", "max_size": "6", "teams": "together"},
        )
        assert r.ok, r.text()
        learners = [x for x in links if x["role"] == "learner"]
        hot, group = learners[0], group_of(ctx_for(learners[0]), url)
        peer = next(x for x in learners[1:] if group_of(ctx_for(x), url) == group)
        fac = next(
            x for x in links if x["role"] == "facilitator" and group_of(ctx_for(x), url) == group
        )
        fctx = ctx_for(fac)
        case = re.search(r'<option value="([a-z0-9-]+)"', fctx.request.get(url + "/").text()).group(
            1
        )
        assert fctx.request.post(f"{url}/rp/{group}/start", form={"scenario": case}).ok
        hot_id = re.search(
            r'data-person="([^"]+)"', ctx_for(hot).request.get(url + "/").text()
        ).group(1)
        r = fctx.request.post(
            f"{url}/rp/{group}/begin", form={"learner": hot_id, "goal": "Pause after the news"}
        )
        assert r.ok, r.text()

        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(peer["link"])
        page.wait_for_selector("#conn-status.conn-live")
        form = page.locator("form.fb-form").first
        assert "Pause after the news" in form.inner_text()

        # A draft survives a reload.
        form.locator("textarea[name='a.try']").fill("Ask what they already know")
        page.reload()
        page.wait_for_selector("#conn-status.conn-live")
        wait_true(
            page,
            "document.querySelector(\"textarea[name='a.try']\").value === 'Ask what they already know'",
        )
        assert "Draft kept" in page.inner_text(".fb-form .durable-status")

        # The first send reaches the server but its reply is lost.
        lost = {"n": 0}

        def lose_reply(route):
            lost["n"] += 1
            route.fetch()  # the server stores it...
            route.abort()  # ...and the browser never hears back

        page.route("**/fb/**", lose_reply)
        form = page.locator("form.fb-form").first
        form.locator("input[type=radio]").first.check()
        form.locator("textarea[name='a.worked']").fill(WORKED)
        form.locator("button[type=submit]").click()
        wait_true(
            page,
            "document.querySelector('.fb-form .durable-status').textContent.includes('Not sent yet')",
        )
        # (the page may already have tried again: every attempt reached the server)
        assert lost["n"] >= 1 and len({r["from_email"] for r in stored_feedback(store, env)}) == 1
        assert page.is_visible("#pending-count")

        # Offline, the page reloads to nothing; back online, it loads and resends by itself.
        ctx.set_offline(True)
        with pytest.raises(PlaywrightError):
            page.reload(timeout=5000)
        ctx.set_offline(False)
        page.unroute("**/fb/**")
        page.goto(url + "/")
        page.wait_for_selector("#conn-status.conn-live")
        wait_true(page, "document.getElementById('pending-count').hidden", 15.0)
        wait_true(page, "document.querySelector('.fb-form .saved-note') !== null", 10.0)

        rows = stored_feedback(store, env)
        mine = [r for r in rows if r["from_email"] == peer["email"]]
        assert {r["item"] for r in mine} >= {"worked", "try"}
        assert len(mine) == len({r["item"] for r in mine})  # one submission, not two
        assert next(r["value"] for r in mine if r["item"] == "worked") == WORKED

        # The facilitator's tallies show it; the learner sees it once released at debrief.
        fpage = fctx.new_page()
        fpage.goto(url + "/")
        fpage.wait_for_selector("#conn-status.conn-live")
        assert "1 of" in fpage.inner_text(".tally")
        assert fctx.request.post(f"{url}/rp/{group}/end-turn").ok
        hpage = ctx_for(hot).new_page()
        hpage.goto(url + "/")
        hpage.wait_for_selector("#conn-status.conn-live")
        assert WORKED not in hpage.content()
        fpage.locator(".tally button", has_text="Release").click()
        wait_true(hpage, f"document.body.textContent.includes({json.dumps(WORKED)})", 10.0)
        for c in [*contexts.values(), ctx]:
            c.close()
