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
