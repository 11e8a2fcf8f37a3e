"""Cases written in the browser, pure: who may publish, versions in order, the shelf that reads
them from the log, a running role-play keeping the version it began with, and the limits on how
often one SP actor portrays a case in a day."""

from datetime import timedelta

import pytest

from server.content.cases import ROLEPLAYS, Scenario
from server.content.shelf import case_at, case_shelf, changed
from server.domain.agenda import Kind
from server.domain.authoring import MAX_TEXT, NameAuthor, Publish
from server.domain.course_state import CourseState
from server.domain.errors import DomainError, PermissionDenied
from server.domain.people_rules import ImportRoster
from server.domain.placement import portrayals
from server.domain.roleplay import BeginTurn, EndRoleplay, EndTurn, StartRoleplay
from server.domain.roles import CLI_ACTOR, Actor, Role
from server.domain.rooms import GroupInfo, RoomsState
from server.domain.roster import parse_roster
from server.live.views.roleplay import build_roleplay_view
from tests.unit.harness import SALT, SCHEDULE, Course

CASE = "adult-news-pancreatic-cancer"
TEXT = (ROLEPLAYS / f"{CASE}.yaml").read_text()
ROSTER = """name,email,role,discipline,track
Dana Director,dir@example.org,director,physician,both
Fay Facilitator,fac@example.org,facilitator,physician,adult
Ada Author,ada@example.org,facilitator,nurse,adult
Lee Learner,lee@example.org,learner,nurse,adult
"""
DIRECTOR = Actor("dir", Role.DIRECTOR)


def course() -> Course:
    c = Course()
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT), CLI_ACTOR)
    return c


def publish(c: Course, who: Actor, text: str, base: int, fields=("title",)):
    return c.do(Publish("case", CASE, text, tuple(fields), base), who)


def retitled(title: str) -> str:
    old = next(line for line in TEXT.splitlines() if line.startswith("title:"))
    return TEXT.replace(old, f'title: "{title}"')


def test_the_director_names_authors_and_only_they_publish_in_order():
    c = course()
    ada, lee = c.actor("ada@example.org"), c.actor("lee@example.org")
    with pytest.raises(PermissionDenied, match="Only the director and the case authors"):
        publish(c, ada, retitled("A"), 0)
    with pytest.raises(PermissionDenied, match="names case authors"):
        c.do(NameAuthor(lee.id), ada)
    c.do(NameAuthor(ada.id), c.actor("dir@example.org"))
    assert c.state.authoring.authors == {ada.id}
    assert c.do(NameAuthor(ada.id), c.actor("dir@example.org")) == []  # already one
    [e] = publish(c, ada, retitled("A"), 0)
    assert (e.type, e.data["version"], e.data["changed"]) == ("content.published", 1, ["title"])
    # Two authors opened version 1; the second to publish is told, and nothing is lost.
    publish(c, c.actor("dir@example.org"), retitled("B"), 1)
    with pytest.raises(DomainError, match="Version 2 was published since you opened version 1"):
        publish(c, ada, retitled("C"), 1)
    with pytest.raises(DomainError, match="Nothing has changed since version 2"):
        publish(c, ada, retitled("B"), 2, fields=())
    with pytest.raises(DomainError, match="Keep it under"):
        publish(c, ada, "x" * (MAX_TEXT + 1), 2)
    with pytest.raises(DomainError, match="not 'poem'"):
        c.do(Publish("poem", CASE, "x", ("x",), 0), ada)
    assert [v.number for v in c.state.authoring.of("case", CASE)] == [1, 2]
    c.do(NameAuthor(ada.id, named=False), c.actor("dir@example.org"))
    with pytest.raises(PermissionDenied):
        publish(c, ada, retitled("D"), 2)


def test_the_shelf_reads_versions_from_the_log_and_a_running_case_keeps_its_own():
    c = course()
    shelf = case_shelf(ROLEPLAYS, lambda: c.state.authoring)
    first = shelf[CASE]
    assert shelf.version_of(CASE) == 0 and shelf.text_of(CASE) == TEXT
    g = GroupInfo("Adult 1", "adult", c.person("fac@example.org").id, (), ())
    c.state = CourseState(
        seq=c.state.seq,
        people=c.state.people,
        rooms=RoomsState(groups={g.name: g}),
        authoring=c.state.authoring,
    )
    fac = c.actor("fac@example.org")
    beats = tuple(b.id for b in first.beats)
    c.do(StartRoleplay(g.name, CASE, "adult", beats, 10, shelf.version_of(CASE)), fac)
    publish(c, DIRECTOR, retitled("Revised in the browser"), 0)
    assert shelf[CASE].title == "Revised in the browser" and shelf.version_of(CASE) == 1
    assert shelf.text_of(CASE) == retitled("Revised in the browser")
    assert shelf.at(CASE, 0) == first and case_at(shelf, CASE, 1).title.startswith("Revised")
    view = build_roleplay_view(c.state, shelf, g.name, "sp", c.now)
    assert view is not None and view.case == first  # the running case is the version it began
    c.do(EndRoleplay(g.name), fac)
    c.do(StartRoleplay(g.name, CASE, "adult", beats, 10, shelf.version_of(CASE)), fac)
    view = build_roleplay_view(c.state, shelf, g.name, "sp", c.now)
    assert view is not None and view.case.title == "Revised in the browser"
    assert changed(first, shelf[CASE]) == ("title",)
    assert changed(None, first) == tuple(Scenario.model_fields)


def test_a_version_that_no_longer_parses_is_kept_out_and_named():
    c = course()
    shelf = case_shelf(ROLEPLAYS, lambda: c.state.authoring)
    publish(c, DIRECTOR, retitled("Good"), 0)
    publish(c, DIRECTOR, TEXT.replace("level:", "levle:"), 1)  # e.g. a field renamed since
    assert shelf[CASE].title == "Good"
    [(key, problem)] = shelf.problems.items()
    assert key == (CASE, 2) and "levle" in problem


def test_an_actor_s_portrayals_of_a_case_today_count_against_its_limits():
    practice = next(i for i in SCHEDULE if i.item.kind is Kind.PRACTICE)
    g = GroupInfo("Adult 1", "adult", "fac", ("sp",), ("a", "b"))
    c = Course(CourseState(rooms=RoomsState(groups={g.name: g}, member_of={"a": g.name})))
    fac = Actor("fac", Role.FACILITATOR)
    t = practice.start + timedelta(minutes=1)
    c.do(StartRoleplay(g.name, CASE, "adult", ("opening",), 10), fac, at=t)
    for n in range(3):
        c.do(BeginTurn(g.name, "a", f"goal {n}"), fac, at=t + timedelta(minutes=10 * n))
        c.do(EndTurn(g.name), fac, at=t + timedelta(minutes=10 * n + 8))
    now = t + timedelta(minutes=30)
    seen = portrayals(c.state.rooms, c.rps, SCHEDULE, "sp", CASE, now, 3, 10)
    assert (seen.count, seen.at_limit) == (3, True)
    assert seen.rested_from == t + timedelta(minutes=28 + 10)
    other = portrayals(c.state.rooms, c.rps, SCHEDULE, "sp", "another-case", now, 3, 10)
    assert (other.count, other.at_limit, other.rested_from) == (0, False, None)
    tomorrow = portrayals(
        c.state.rooms, c.rps, SCHEDULE, "sp", CASE, now + timedelta(days=1), 3, 10
    )
    assert tomorrow.count == 0
