"""The app tier's one harness: a course app through Starlette's TestClient (its socket
included), the rosters the tests use, signing in as anyone, reading pushes, the demo's
simulation driven step by step."""

from datetime import timedelta

from starlette.testclient import TestClient

from server.config import Settings
from server.content.course import load_course
from server.demo.people import example_people
from server.demo.sim import Simulation
from server.domain.agenda import build_schedule
from server.service.clock import RehearsalClock
from server.web.app import create_app
from tests.servers import ROOT

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


GROUP_ROSTER = """name,email,role,discipline,track
Dana Director,director@example.org,director,physician,both
Ada Facilitator,ada@example.org,facilitator,nurse,adult
Ben Facilitator,ben@example.org,facilitator,physician,adult
Cy Facilitator,cy@example.org,facilitator,physician,pediatric
Sam Actor,sam@example.org,sp,other,adult
L One,l1@example.org,learner,nurse,adult
L Two,l2@example.org,learner,physician,adult
L Three,l3@example.org,learner,chaplain,adult
L Four,l4@example.org,learner,pharmacist,adult
P One,p1@example.org,learner,nurse,pediatric
"""


def read_until(ws, needle, limit=40, unless=None):
    """The first message containing `needle` (and, if given, not containing `unless`)."""
    for _ in range(limit):
        msg = ws.receive_text()
        if needle in msg and (unless is None or unless not in msg):
            return msg
    raise AssertionError(f"{needle!r} never arrived")


def client_at(tmp_path, local_delta: timedelta, speed: float = 1.0):
    """A client whose course clock starts at Day 1 10:00 ET + `local_delta`."""
    seconds = -local_delta.total_seconds()
    return make_client(
        tmp_path, seconds_before_first=seconds, speed=speed, roster_text=GROUP_ROSTER
    )


def form_groups(c, seed: int = 1, min_size: int = 1, max_size: int = 2) -> None:
    """The director forms the small groups (teams kept together)."""
    director = session(c, "director@example.org")
    form = {"seed": str(seed), "min_size": str(min_size), "max_size": str(max_size)}
    r = c.post("/director/groups/assign", data={**form, "teams": "together"}, headers=director)
    assert r.status_code == 200, r.text


class Socket:
    """A live page: keeps every message it received, to search later."""

    def __init__(self, ws):
        self.ws = ws
        self.seen: list[str] = []

    def until(self, needle, limit=60):
        for _ in range(limit):
            msg = self.ws.receive_text()
            self.seen.append(msg)
            if needle in msg:
                return msg
        raise AssertionError(f"{needle!r} never arrived")


DEMO_ROSTER = (ROOT / "scenarios/demo/roster.csv").read_text()
DAY2_PRACTICE = timedelta(days=1, hours=1, minutes=20)  # 11:20 ET, role-play practice


def before_day2_practice(tmp_path):
    """A client on the demo roster, a course-minute before Day 2's role-play practice."""
    return make_client(
        tmp_path,
        seconds_before_first=-(DAY2_PRACTICE.total_seconds() - 60),
        roster_text=DEMO_ROSTER,
    )


def spared(svc) -> frozenset[str]:
    """The people the demo prints links for, whom the simulation never acts for."""
    return frozenset(p.id for p in example_people(svc.state.people, svc.state.rooms))


def simulate(c, sim: Simulation, minutes: int) -> None:
    """Run `sim` for `minutes` of course time in 15-second steps."""
    svc = c.app.state.service
    for _ in range(minutes * 4):
        svc.clock.jump(svc.clock.now() + timedelta(seconds=15))
        c.portal.call(sim.step, svc.clock.now())
