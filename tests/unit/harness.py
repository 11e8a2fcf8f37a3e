"""The unit tier's one harness: commands through the course's own `decide` and `apply`, as the
server runs them, on a state and at instants the test chooses. No store, no server."""

from datetime import datetime

from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.domain.course_state import CourseState, apply, decide
from server.domain.events import Event
from server.domain.people import Person
from server.domain.placement import Place, place_of
from server.domain.roles import CLI_ACTOR, Actor

SCHEDULE = build_schedule(load_course())
DAY1 = SCHEDULE.items[0].start  # 10:00 ET on day 1
SALT = "unit-test-salt-0123456789"  # new people's ids are made from it


class Course:
    """A course's state, changed only by commands decided and applied as the server does."""

    def __init__(self, state: CourseState | None = None, now: datetime = DAY1):
        self.state = state or CourseState()
        self.now = now

    def do(self, command, actor: Actor = CLI_ACTOR, at: datetime | None = None):
        """The events `command` by `actor` made (applied already); raises as decide does."""
        new = decide(self.state, SCHEDULE, command, actor, at or self.now)
        for e in new:
            self.state = apply(self.state, Event(self.state.seq + 1, e.type, e.actor, e.at, e.data))
        return new

    @property
    def fb(self):
        return self.state.feedback

    @property
    def rps(self):
        return self.state.roleplays

    @property
    def media(self):
        return self.state.media

    def person(self, email: str) -> Person:
        return self.state.people.by_id[self.state.people.id_of(email)]

    def actor(self, email: str) -> Actor:
        p = self.person(email)
        return Actor(p.id, p.role)

    def place(self, email: str, at: datetime) -> Place:
        rooms, people = self.state.rooms, self.state.people
        return place_of(rooms, people, SCHEDULE, self.person(email).id, at)
