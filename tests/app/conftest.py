from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from server.app import Settings, create_app
from server.clock import RehearsalClock
from server.content import load_course
from server.domain.agenda import build_schedule

COURSE = load_course()
FIRST = build_schedule(COURSE).items[0]


def make_client(
    tmp_path, seconds_before_first: float, speed: float = 1.0, clock_class=RehearsalClock
) -> TestClient:
    clock = clock_class(FIRST.start - timedelta(seconds=seconds_before_first), speed)
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'log.db'}", secret="test-secret", clock=clock
    )
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        yield c


def sign_in_director(c: TestClient) -> None:
    token = c.app.state.signer.link_token("director")
    r = c.get(f"/join/{token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/director"
