from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from server.config import Settings
from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.service.clock import RehearsalClock
from server.web.app import create_app

COURSE = load_course()
FIRST = build_schedule(COURSE).items[0]

ROSTER = """name,email,role,discipline,track,team,abp_id,dob_mmdd
Dana Director,director@example.org,director,physician,both,,,
Fran Facilitator,fran@example.org,facilitator,nurse,adult,,,
Pat Peds Facilitator,pat@example.org,facilitator,physician,pediatric,,,
Sam Actor,sam@example.org,sp,other,adult,,,
Lee Learner,lee@example.org,learner,nurse,adult,,,
Kim Learner,kim@example.org,learner,physician,pediatric,,123456,04-30
"""


def make_client(
    tmp_path,
    seconds_before_first: float,
    speed: float = 1.0,
    clock_class=RehearsalClock,
    roster_text: str = ROSTER,
) -> TestClient:
    clock = clock_class(FIRST.start - timedelta(seconds=seconds_before_first), speed)
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_text)
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'log.db'}",
        secret="test-secret",
        clock=clock,
        roster=str(roster),
    )
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        yield c


def pid(where, email: str) -> str:
    """The id of the person registered with `email` on a client's course (or a service's, or a
    state's): ids are random, made at registration, so they are looked up, never derived."""
    service = where.app.state.service if hasattr(where, "app") else where
    state = getattr(service, "state", service)
    people = getattr(state, "people", state)
    found = people.id_of(email)
    assert found is not None, f"nobody registered as {email}"
    return found


def sign_in(c: TestClient, email: str) -> str:
    """Follow `email`'s personal link; the client keeps the session cookie. Returns the id."""
    p = c.app.state.service.state.people.by_id[pid(c, email)]
    token = c.app.state.signer.link_token(p.id, p.link_version)
    r = c.get(f"/join/{token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return pid


def sign_in_director(c: TestClient) -> str:
    return sign_in(c, "director@example.org")


def session(c: TestClient, email: str) -> dict[str, str]:
    """Headers carrying `email`'s session cookie, for one request or socket (the client's own
    cookie jar is left alone, so one test can act as several people)."""
    people = c.app.state.service.state.people
    p = people.by_id[pid(people, email)]
    value = c.app.state.signer.session_value(p.id, p.link_version)
    return {"cookie": f"companion_session={value}"}
