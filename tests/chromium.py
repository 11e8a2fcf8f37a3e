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
