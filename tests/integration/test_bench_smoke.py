"""The benchmark command runs at tiny sizes, so it cannot rot. It starts real servers."""

import pytest

from bench.run import main

pytestmark = pytest.mark.integration


def test_bench_quick_writes_a_report(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    assert main(["--quick", "--output", str(out)]) == 0
    text = out.read_text()
    assert "## Group assignment" in text and "Command: `uv run python -m bench.run --quick`" in text
    assert "| 200 |" in text
    assert "## Room media relay" in text and "aiortc MediaRelay" in text
    # Both media engines carried a room of eight: every stream delivered at about 15 fps.
    section = text.split("## Rooms of eight on both media engines")[1].split("\n## ")[0]
    rows = [
        r for r in section.splitlines() if r.startswith("| Janus") or r.startswith("| embedded")
    ]
    assert len(rows) == 2, section
    for row in rows:
        fps = float(row.split("|")[8])
        assert fps > 10, row
