import pytest
from playwright.sync_api import sync_playwright

from tests.chromium import ARGS, CHROMIUM, Watched


# Module scope: sync Playwright runs its own event loop, which must be gone before
# the asyncio tests of the next module start.
@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def browser(chromium):
    """The browser, watched: every page's console errors, a Content Security Policy violation
    included, and uncaught exceptions fail the test."""
    watched = Watched(chromium)
    yield watched
    assert watched.errors == [], f"errors in the browser's pages: {watched.errors}"


@pytest.fixture
def page(browser):
    ctx = browser.new_context(timezone_id="Europe/Berlin", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    yield pg
    ctx.close()
