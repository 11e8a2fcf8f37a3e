"""Debian's Chromium for the browser tests (never a downloaded browser), and waiting on a page
under our Content Security Policy, and a course to open pages on."""

import json
from contextlib import contextmanager
from datetime import datetime

from tests.servers import DEMO_ROSTER, cli, companion, free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Fake camera, microphone and screen, granted without asking; sound that plays unprompted.
FAKE_MEDIA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--auto-select-desktop-capture-source=Entire screen",
]
SCREEN = """() => [...document.querySelectorAll('#media-stage .vtile.is-screen video')]
  .some(v => v.videoWidth > 0 && v.currentTime > 0.3)"""
# A track the browser ends fires "ended"; stop() alone does not, so a test fires it as the
# browser's own "Stop sharing" button would.
STOP_SHARING = """() => { const t = document.querySelector('#media-screen-self video')
    .srcObject.getVideoTracks()[0]; t.stop(); t.dispatchEvent(new Event('ended')); }"""


def wait_true(page, expression: str, timeout: float = 10.0) -> None:
    """Wait until `expression` is true in the page. (Playwright's wait_for_function compiles the
    expression inside the page, which our Content Security Policy rightly forbids; evaluate does
    not.)"""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout} s: {expression}")


class Watched:
    """A Playwright browser whose every page reports its console errors and uncaught exceptions
    (a Content Security Policy violation included) into `errors`: a browser test fails on any
    (the `browser` fixture checks it when the test ends)."""

    def __init__(self, browser):
        self.browser = browser
        self.errors: list[str] = []
        self.expected: list[str] = []  # texts a test provokes on purpose (say, going offline)

    def expect(self, text: str) -> None:
        """Errors containing `text` are what the test provokes: they do not fail it."""
        self.expected.append(text)

    def watch(self, page):
        where = lambda: page.url.split("?")[0]  # noqa: E731
        page.on("pageerror", lambda e: self.errors.append(f"{where()}: {e}"))

        def console(m):
            wrong = m.type == "error" or "Content Security Policy" in m.text
            if wrong and not any(t in m.text for t in self.expected):
                self.errors.append(f"{where()}: {m.text}")

        page.on("console", console)
        return page

    def new_context(self, **kwargs):
        ctx = self.browser.new_context(**kwargs)
        ctx.on("page", self.watch)
        return ctx

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()

    def __getattr__(self, name):
        return getattr(self.browser, name)


@contextmanager
def course_from(browser, tmp_path, start: datetime, media: bool = False):
    """The test roster's course on a rehearsal clock from `start`: (url, people, open_page,
    errors), where `open_page(person, width, height)` signs a new browser in with their link.
    With `media`, rooms have their built-in audio and video (on loopback)."""
    env = {"COMPANION_SECRET": "browser-test-secret-0123456789abcdef"}
    store = f"sqlite:///{tmp_path / 'log.db'}"
    cli("roster", "import", str(DEMO_ROSTER), "--store", store, env=env)
    at = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    lo = free_port() // 100 * 100
    room_media = ("--media-addresses", "127.0.0.1", "--udp-ports", f"{lo}-{lo + 49}")
    with companion(
        "--store", store, "--rehearsal-start", at, *(room_media if media else ("--no-media",)),
        env=env,
    ) as url:  # fmt: skip
        people = json.loads(cli("links", "--json", "--store", store, "--base-url", url, env=env))
        errors: list[str] = []

        def open_page(person, width: int = 1280, height: int = 900):
            ctx = browser.new_context(viewport={"width": width, "height": height})
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(person["link"])
            page.wait_for_selector("#conn-status.conn-live")
            return page

        yield url, people, open_page, errors
