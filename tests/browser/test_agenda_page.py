"""The agenda page in Debian's Chromium: the current item, a ticking countdown, a live move."""

from datetime import timedelta

import pytest

from server.content.course import load_course
from server.domain.agenda import build_schedule, utc_z
from tests.chromium import wait_true
from tests.servers import companion

pytestmark = pytest.mark.browser

FIRST = build_schedule(load_course()).items[0]


def test_page_shows_current_item_with_a_ticking_countdown_and_moves_on_by_itself(page, tmp_path):
    # Course time starts 4 s before Day 1 10:00 ET and runs at real speed.
    start = utc_z(FIRST.start - timedelta(seconds=4))
    store = f"sqlite:///{tmp_path / 'log.db'}"
    with companion("--rehearsal-start", start, "--store", store) as url:
        page.goto(url + "/")
        page.wait_for_selector("#conn-status.conn-live")
        assert "not started yet" in page.inner_text("#now")
        page.evaluate("window.__sameDocument = true")
        first = page.inner_text("#now .countdown")
        wait_true(page, f"document.querySelector('#now .countdown').textContent !== {first!r}", 3.0)
        # At 10:00 ET the server pushes the new item; the page changes without a reload.
        wait_true(
            page, "document.querySelector('#now .now-title').textContent.includes('Welcome')", 10.0
        )
        assert page.evaluate("window.__sameDocument") is True
        now_text = page.inner_text("#now")
        assert "10:00 AM" in now_text and "EDT" in now_text
        assert "4:00 PM" in now_text and "your time" in now_text  # Berlin is 6 hours ahead
        c1 = page.inner_text("#now .countdown")
        assert c1 in ("30:00", "29:59", "29:58")
        # The countdown ticks on (browsers may slow timers of a background page to once a second).
        wait_true(page, f"document.querySelector('#now .countdown').textContent !== {c1!r}", 3.0)
        assert page.inner_text("#now .countdown").startswith("29:")
        assert page.locator("#schedule li.current").inner_text().count("Welcome") == 1
        # Only the items that changed were pushed: the day keeps each of its items once, in order.
        day1 = [s.id for s in build_schedule(load_course()).day_items(1)]
        assert page.eval_on_selector_all("#day-1 li", "els => els.map(e => e.id)") == [
            f"item-{i}" for i in day1
        ]
        assert page.locator("#day-1 li.current").count() == 1
        # Every item has its content, after the socket's snapshot and the boundary's push alike.
        titles = page.eval_on_selector_all(
            "#schedule li",
            "els => els.map(e => (e.querySelector('.item-title') || {}).textContent)",
        )
        assert titles and all(titles), titles
        assert "your time" in page.inner_text("#item-" + day1[0])
