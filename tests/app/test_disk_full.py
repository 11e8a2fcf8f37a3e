"""The disk filling up: writes are refused with a clear reason, nothing already stored is lost
or corrupted, pages keep working, and writes succeed again once there is room."""

import sqlite3

from tests.app.harness import make_client, session

LIMIT_OFF = 1073741823  # SQLite's default maximum page count


def set_max_pages(c, pages: int | None) -> int:
    """Cap the log's size at its current pages (None) or at `pages`, on the store's own
    connection and thread. SQLite then fails writes with SQLITE_FULL, as on a full disk."""
    store = c.app.state.service.store

    def cap() -> int:
        current = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages or current}")
        return current

    return c.portal.call(store._run, cap)


def test_a_full_disk_refuses_writes_with_a_reason_and_loses_nothing(tmp_path, figure):
    with make_client(tmp_path, seconds_before_first=-60) as c:
        director = session(c, "director@example.org")
        lee = session(c, "lee@example.org")
        assert (
            c.post("/director/announce", data={"text": "Kept"}, headers=director).status_code == 200
        )
        svc = c.app.state.service
        set_max_pages(c, None)
        before = svc.state.seq
        refused = 0
        big = "x" * 490
        for i in range(40):  # enough to need new pages
            r = c.post("/director/announce", data={"text": f"{i} {big}"}, headers=director)
            if r.status_code == 503:
                refused += 1
                assert "Not saved" in r.text and "full" in r.text, r.text
            else:
                assert r.status_code == 200
        assert refused > 0
        # What is left of the last page takes small writes: fill it with the smallest.
        for i in range(400):
            r = c.post("/director/announce", data={"text": str(i % 10)}, headers=director)
            if r.status_code == 503:
                break
        else:
            raise AssertionError("the capped log took 400 more announcements")
        r = c.post(
            "/reflections",
            data={"sid": "disk-full-refl-1", "item": "", "prompt": "", "text": "t", "share": "0"},
            headers=lee,
        )
        assert r.status_code == 503 and "full" in r.text
        written = svc.state.seq - before
        # Pages still load, with what was stored.
        assert c.get("/", headers=lee).status_code == 200
        latest = svc.state.announcements[-1].text
        assert latest in c.get("/", headers=director).text
        # Room again: the same reflection is accepted (the browser resends it).
        set_max_pages(c, LIMIT_OFF)
        r = c.post(
            "/reflections",
            data={"sid": "disk-full-refl-1", "item": "", "prompt": "", "text": "t", "share": "0"},
            headers=lee,
        )
        assert r.status_code in (200, 303), r.text
        seq = svc.state.seq
    # After a restart the log holds exactly what was acknowledged, and is intact.
    db = sqlite3.connect(tmp_path / "log.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT MAX(seq) FROM events").fetchone()[0] == seq
    db.close()
    with make_client(tmp_path, seconds_before_first=-60) as c:
        state = c.app.state.service.state
        assert state.seq == seq
        assert state.announcements[0].text == "Kept"
        assert len(state.announcements) == 1 + written
    figure("writes refused while full", refused + 1)
    figure("acknowledged writes lost", 0)
    figure("integrity check", "ok")
