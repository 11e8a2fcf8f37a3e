import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import redis_server

# Figures the fault, hostile-input, access and privacy tests measure; `python -m
# tests.reliability` turns the latest run's into docs/reliability.md.
FIGURES = (
    Path(
        os.environ.get("COMPANION_FIGURES", Path(__file__).resolve().parent.parent / ".reliability")
    )
    / "figures.json"
)
_figures: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def figure(request):
    """`figure(name, value)`: record something this test measured (only if it passes)."""
    found: dict[str, Any] = {}
    yield found.__setitem__
    if found and not getattr(request.node, "failed", False):
        _figures[request.node.nodeid] = found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.failed = True


def pytest_sessionfinish(session, exitstatus):
    if not _figures:
        return
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    try:
        known = json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        known = {}
    known.update(_figures)  # a partial run keeps the other tests' latest figures
    FIGURES.write_text(json.dumps(known, indent=1, sort_keys=True))
