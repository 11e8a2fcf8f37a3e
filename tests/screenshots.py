"""Screenshots of each role's page in the demo, for the README.

    uv run python -m tests.screenshots      # writes docs/screenshots/*.png

It starts the demo on a free port during the Day 2 practice block, lets a facilitator start a
case, put a learner in the hot seat and send the SP a cue, and photographs every role's page in
Debian's Chromium, on a laptop (1280×800: each console is one screen) and on a phone (390×844:
the first screen, the role's main control on it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.chromium import ARGS, CHROMIUM
from tests.servers import ROOT, free_port, wait_healthy

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    data = Path(tempfile.mkdtemp()) / "demo"
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "demo",
        "--port",
        str(port),
        "--data",
        str(data),
        "--rehearsal-start",
        "2026-05-14T15:16:00Z",
        "--speed",
        "1",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "server.cli",
                "links",
                "--json",
                "--store",
                f"sqlite:///{data / 'demo.db'}",
                "--base-url",
                url,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        links = {x["email"]: x["link"] for x in json.loads(out)}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)

            def page(email: str | None, width: int = 1280, height: int = 800):
                pg = browser.new_context(
                    viewport={"width": width, "height": height}, timezone_id="America/Chicago"
                ).new_page()
                pg.goto(links[email] if email else url + "/")
                pg.wait_for_selector("#conn-status.conn-live")
                return pg

            fac = page("dana.whitcombe@example.org")
            fac.click(".rp-facilitator button:has-text('Start this case')")
            fac.wait_for_selector(".rp-facilitator input[name=goal]")
            fac.fill(".rp-facilitator input[name=goal]", "Ask what they understand first")
            fac.click(".rp-facilitator button:has-text('Begin turn')")
            fac.wait_for_selector(".rp-facilitator .rp-phase-running")
            fac.click(".rp-facilitator button:has-text('medium')")
            fac.wait_for_selector(".rp-facilitator button.current:has-text('medium')")
            fac.fill(".rp-facilitator input[name=text]", "Ask about the wedding in October")
            fac.click(".rp-facilitator button:has-text('Send cue')")
            time.sleep(1.5)
            group = (
                fac.locator(".rp-facilitator .eyebrow").first.text_content().split("·")[1].strip()
            )
            director = page("director@example.org")
            tile = director.locator(f".tile[aria-label='{group}']")
            sp_name = tile.locator(".pmeta").first.text_content().split("SP ")[1].split(",")[0]
            hot = fac.locator(".rp-facilitator .hot-seat strong").text_content()

            def page_group(email: str) -> str:
                ctx = browser.new_context()
                ctx.request.get(links[email])
                html = ctx.request.get(url + "/").text()
                ctx.close()
                return (
                    html.split("Role-play · ", 1)[1].split("<", 1)[0]
                    if "Role-play · " in html
                    else ""
                )

            def email_of(name: str) -> str:
                return next(
                    e for e in links if e.split("@")[0] == name.strip().lower().replace(" ", ".")
                )

            shots = {
                "director": director,
                "facilitator": fac,
                "sp": page(email_of(sp_name)),
                "learner": page(email_of(hot)),
                "agenda": page(None),
            }
            time.sleep(1.0)
            for name, pg in shots.items():
                pg.screenshot(path=str(OUT / f"{name}.png"))
                print(f"wrote {OUT / f'{name}.png'}")
            for name, email in [
                ("facilitator", "dana.whitcombe@example.org"),
                ("sp", email_of(sp_name)),
                ("learner", email_of(hot)),
                ("director", "director@example.org"),
            ]:
                phone = page(email, width=390, height=844)
                time.sleep(0.5)
                phone.screenshot(path=str(OUT / f"{name}-phone.png"))
                print(f"wrote {OUT / f'{name}-phone.png'}")
                phone.context.close()
            # The simulated observers in Dana's group send their feedback; she sees the tallies.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "0 of" in fac.inner_text(".tally h3"):
                time.sleep(0.5)
            time.sleep(8)
            # Panels alone, from pages tall enough that their panes do not cut them.
            tall = page("dana.whitcombe@example.org", height=2400)
            tall.locator(".tally").screenshot(path=str(OUT / "tally.png"))
            observer = next(
                e
                for e in links
                if e.endswith("@example.org") and e != email_of(hot) and group in page_group(e)
            )
            obs = page(observer, height=2400)
            obs.locator(".feedback").screenshot(path=str(OUT / "feedback-form.png"))
            print(f"wrote {OUT / 'tally.png'} and {OUT / 'feedback-form.png'}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
