"""Calendars served: the public agenda follows a delay (the item moves, its SEQUENCE rises), each
person's own calendar opens from their session or from the address they subscribe to, and that
address stops working with their link."""

import re

from tests.app.harness import make_client, pid, session
from tests.independent import JS  # noqa: F401  (the calendar's parsers are checked in unit tests)


def events(text: str) -> dict[str, dict[str, str]]:
    out = {}
    for block in text.split("BEGIN:VEVENT")[1:]:
        fields = dict(
            line.split(":", 1)
            for line in block.split("END:VEVENT")[0].strip().split("\r\n")
            if ":" in line and not line.startswith(" ")
        )
        out[fields["UID"]] = fields
    return out


def test_the_agenda_follows_a_delay_and_a_persons_calendar_its_link(tmp_path):
    # Course time 60 s into day 1: the first item is running.
    with make_client(tmp_path, seconds_before_first=-60) as c:
        director, lee = session(c, "director@example.org"), session(c, "lee@example.org")
        before = c.get("/agenda.ics")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/calendar")
        assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in before.text
        first = events(before.text)
        r = c.post("/director/delay", data={"minutes": "10"}, headers=director)
        assert r.status_code == 200, r.text
        after = events(c.get("/agenda.ics").text)
        moved = [u for u in after if after[u]["SEQUENCE"] == "1"]
        when = ("DTSTART;TZID=America/New_York", "DTEND;TZID=America/New_York")
        changed = [u for u in after if [after[u][k] for k in when] != [first[u][k] for k in when]]
        assert moved == changed and len(moved) == 3  # the item, the next, the break absorbing
        assert all(after[u]["SEQUENCE"] == "0" for u in after if u not in moved)
        # Lee's own calendar: from the session, and from the address on their calendar page.
        mine = c.get("/calendar.ics", headers=lee)
        assert mine.status_code == 200 and "Lee Learner" in mine.text
        page = c.get("/calendar", headers=lee).text
        address = re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', page).group(1)
        assert "webcal://testserver/calendar/" in page
        assert c.get(address).status_code == 200  # no session needed: a calendar app fetches it
        assert c.get("/calendar.ics").status_code == 403
        assert c.get("/calendar/forged.ics").status_code == 404
        lee_id = pid(c, "lee@example.org")
        c.post(f"/director/people/{lee_id}/reissue", headers=director)
        assert c.get(address).status_code == 404  # a new link ends the old address
