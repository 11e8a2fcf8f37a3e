import pytest
from playwright.sync_api import sync_playwright

from tests.chromium import ARGS, CHROMIUM


# Module scope: sync Playwright runs its own event loop, which must be gone before
# the asyncio tests of the next module start.
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(timezone_id="Europe/Berlin", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Anything the Content Security Policy blocks is a defect too.
    pg.on(
        "console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None
    )
    yield pg
    ctx.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
