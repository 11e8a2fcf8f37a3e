"""Debian's Chromium for the browser tests (never a downloaded browser), and waiting on a page
under our Content Security Policy."""

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
