"""The course rehearsed in the suite: Day 2's morning for 40 learners, on one process with
SQLite and on two workers with Redis, through real sockets, with a killed server or worker, a
tenth of the sockets dropped, a page that stops reading, a full disk and a Redis restart; every
invariant the harness checks from its own record holds (bench/rehearsal.py, docs/rehearsal.md)."""

import pytest

from bench.rehearsal import main

pytestmark = pytest.mark.integration


def test_the_quick_rehearsal_keeps_every_invariant(tmp_path, figure):
    out = tmp_path / "rehearsal.md"
    status = main(["--quick", "--output", str(out)])
    text = out.read_text()
    assert status == 0, text
    for deployment in ("One process on SQLite", "Two workers on one Redis"):
        section = text.split(f"## {deployment}")[1].split("\n## ")[0]
        assert "SIGKILL of" in section and "sockets dropped at once" in section, section
        assert "cut off by the server" in section, section
        rows = [r for r in section.splitlines() if r.startswith("| ") and r.count("|") == 4]
        checks = {r.split("|")[1].strip(): int(r.split("|")[2]) for r in rows[1:]}
        assert len(checks) == 8 and not any(checks.values()), section
        figure(f"quick rehearsal, {deployment}: invariants checked", len(checks))
