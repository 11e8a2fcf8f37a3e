"""The rule a page on the Janus engine follows to step its pictures down on a lossy link and back
up, as the browser runs it (web/static/js/quality.js, under node)."""

import json
import shutil
import subprocess

import pytest

from tests.servers import ROOT

RULE = ROOT / "web" / "static" / "js" / "quality.js"


def levels(samples: str) -> dict:
    if shutil.which("node") is None:
        pytest.fail("node is needed (Debian package nodejs; scripts/test installs it)")
    out = subprocess.run(
        ["node", str(ROOT / "tests" / "js" / "quality_check.mjs"), str(RULE), samples],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_two_lossy_samples_step_down_and_ten_good_ones_step_back_up():
    got = levels("L" * 4 + "G" * 20)["levels"]
    assert got[:4] == ["high", "low", "low", "audio"]
    assert got[4:13] == ["audio"] * 9
    assert got[13] == "low"  # ten good samples in a row
    assert got[23] == "high"


def test_one_bad_sample_is_not_enough_and_audio_is_the_floor():
    assert levels("LGLGLG")["levels"] == ["high"] * 6
    assert levels("L" * 12)["levels"][-1] == "audio"


def test_what_counts_as_lossy():
    # A tenth lost is lossy; 2% is not; too few packets to judge is not.
    assert levels("G")["lossy"] == [True, False, False]
