"""Every role's page, checked with axe-core in Debian's Chromium: no serious or critical
accessibility violations."""

import json
import re
from pathlib import Path

import pytest

from server.content.cases import load_library
from tests.servers import DEMO_ROSTER as ROSTER
from tests.servers import SECRET as ENV
from tests.servers import cli, companion

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .sort((a, b) => b.getBoundingClientRect().width - a.getBoundingClientRect().width)
  .slice(-4).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width))"""


def serious(page) -> list[str]:
    # evaluate() runs through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE)
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))"
    )
    return list(result)


def test_every_page_has_no_serious_accessibility_violations(browser, tmp_path, figure):
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(ROSTER), "--store", store)
    # Day 2, 11:20 ET: the practice block, where every page shows the most.
    with companion("--store", store, "--rehearsal-start", "2026-05-14T15:20:00Z", env=ENV) as url:
        links = {
            x["email"]: x["link"]
            for x in json.loads(cli("links", "--json", "--store", store, "--base-url", url))
        }
        ctx = browser.new_context()
        director = ctx.new_page()
        director.goto(links["director@example.org"])
        director.wait_for_selector("#conn-status.conn-live")
        director.click("#rooms button[type=submit]")
        director.wait_for_selector(".tile")
        # A turn under way in Priya's group, so the feedback form and tallies are on the pages.
        lctx = browser.new_context()
        lctx.request.get(links["priya.raman@example.org"])
        html = lctx.request.get(url + "/").text()
        group = re.search(r"Role-play · ([^<]+)</h2>", html).group(1).strip()
        me = re.search(r'data-person="([^"]+)"', html).group(1)
        lctx.close()
        case = min(c.id for c in load_library().values() if c.track == "adult")  # Priya's track
        for action, form in (
            ("start", {"scenario": case}),
            ("begin", {"learner": me, "goal": "Name the emotion"}),
        ):
            r = ctx.request.post(f"{url}/rp/{group}/{action}", form=form)
            assert r.ok, r.text()
        ctx.close()
        pages = {
            "public agenda": url + "/",
            "director": links["director@example.org"],
            "facilitator": links["dana.whitcombe@example.org"],
            "SP actor": links["june.castillo@example.org"],
            "learner": links["priya.raman@example.org"],
            "my credit": "/me",
            "reflections": "/reflections",
            "evaluations": "/evaluations",
            "course evaluation": "/evaluations/course",
            "portfolio": "/portfolio",
            "results (director)": "/results",
            "recorded turns": f"/rp/{group}/recordings",
            "cases and forms (director)": "/author",
            "case editor (director)": f"/author/case/{case}",
            "form editor (director)": "/author/instrument/symptom-assessment",
        }
        found = {}
        for name, link in pages.items():
            c = browser.new_context()
            page = c.new_page()
            if link.startswith("/"):  # a learner's own pages (the director's for results)
                who = "director@example.org" if "(director)" in name else "priya.raman@example.org"
                page.goto(links[who])
                page.goto(url + link)
            else:
                page.goto(link)
                page.wait_for_selector("#conn-status.conn-live")
            found[name] = serious(page)
            c.close()
        assert found == {name: [] for name in pages}
        # On a tablet (768 px wide, portrait) no page scrolls sideways.
        wide = {}
        for name in ("public agenda", "director", "facilitator", "SP actor", "learner"):
            c = browser.new_context(viewport={"width": 768, "height": 1024})
            page = c.new_page()
            page.goto(pages[name])
            page.wait_for_selector("#conn-status.conn-live")
            wide[name] = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if wide[name]:  # name the widest things that stick out, to fix them
                wide[name] = (wide[name], page.evaluate(WIDEST))
            c.close()
        assert wide == {name: 0 for name in wide}, wide
        figure("pages checked by axe-core", len(found))
        figure("pages checked at tablet width (768 px)", len(wide))
