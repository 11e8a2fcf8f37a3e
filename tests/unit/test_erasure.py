"""The erasure rule, event by event (pure: no store, no server)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.domain import erasure
from server.domain.erasure import ERASED_NAME, RULES, Erasure, redact, redact_log
from server.domain.events import Event

AT = datetime(2026, 5, 13, 14, 0, tzinfo=UTC)
X_EMAIL = "ann.lee@example.org"
X = "p3f9a1c0d2b4e6a8c"  # ids are random, made at registration
Y = "p7e1d0c2b9a4f6e3d"
ER = Erasure(X, X_EMAIL, "Ann Lee", "0123456789abcdef")
DOMAIN = Path(erasure.__file__).parent


def ev(type_, data, actor="cli", seq=1):
    return Event(seq, type_, actor, AT, data)


def test_every_event_type_the_course_records_has_a_rule():
    """A new event type without a rule would keep a person's data after erasure."""
    import importlib
    import pkgutil

    import server.domain

    declared: set[str] = set()
    for info in pkgutil.walk_packages(server.domain.__path__, "server.domain."):
        module = importlib.import_module(info.name)
        for name in dir(module):
            if name == "EVENT_TYPES" or name.endswith("_EVENTS"):
                declared |= set(getattr(module, name))
    assert {"help.requested", "announcement.sent", "agenda.delayed"} <= declared
    written = set()
    for path in DOMAIN.rglob("*.py"):
        text = path.read_text()
        written |= set(re.findall(r'(?:NewEvent|ev)\(\s*"([a-z_]+\.[a-z_]+)"', text))
        written |= set(re.findall(r'"([a-z]+\.[a-z_]+)" if isinstance', text))
        written |= set(re.findall(r'kind = "([a-z]+\.[a-z_]+)"', text))
    assert written, "found no event types in the domain's source"
    missing = (declared | written) - set(RULES)
    assert not missing, f"no erasure rule for {sorted(missing)}"


def test_their_registration_becomes_a_placeholder_and_others_stay_as_they_are():
    reg = {
        "name": "Ann Lee",
        "email": "Ann.Lee@example.org",
        "role": "learner",
        "discipline": "nurse",
        "track": "pediatric",
        "team": "blue",
        "abp_id": "123456",
        "dob_mmdd": "04-30",
    }
    out = redact(ev("person.registered", reg), ER)
    assert out.data["name"] == ERASED_NAME and out.data["email"] == ER.new_email
    assert out.data["role"] == "learner" and out.data["track"] == "pediatric"
    assert not any(out.data[k] for k in ("team", "abp_id", "dob_mmdd"))
    assert out.data["id"] == ER.new != X
    other = ev("person.updated", {**reg, "email": "ann.lee@example.org.uk", "name": "Ann Lee"})
    assert redact(other, ER) == other  # a namesake's own registration is theirs


def test_their_id_is_replaced_in_every_field_key_and_actor():
    e = ev(
        "groups.assigned",
        {"groups": [{"name": "A1", "members": [Y, X], "sps": [], "facilitator": None}], X: 1},
        actor=X,
    )
    out = redact(e, ER)
    assert X not in repr(out) and out.actor == ER.new
    assert out.data["groups"][0]["members"] == [Y, ER.new] and out.data[ER.new] == 1
    rec = ev("recording.saved", {"id": f"A1/1.1.5/{X}", "file": f"A1/1.1.5/{X}.webm"})
    assert redact(rec, ER).data["id"] == f"A1/1.1.5/{ER.new}"


def test_what_they_wrote_for_themselves_and_feedback_on_their_turns_is_dropped():
    for e in (
        ev("reflection.written", {"sid": "s1", "text": "mine"}, actor=X),
        ev("reflection.shared", {"sid": "s1", "group": "A1"}, actor=X),
        ev("nexttime.written", {"text": "pause more"}, actor=X),
        ev("evaluation.submitted", {"answers": {"q": "fine"}}, actor=X),
        ev("feedback.submitted", {"learner": X, "answers": {"a": "good"}}, actor=Y),
    ):
        out = redact(e, ER)
        assert out.type == erasure.DROPPED and out.data == {} and out.seq == e.seq
        assert out.actor in (ER.new, Y)
    theirs_for_y = ev("feedback.submitted", {"learner": Y, "answers": {"a": "good"}}, actor=X)
    out = redact(theirs_for_y, ER)
    assert out.type == "feedback.submitted" and out.actor == ER.new and out.data["answers"]


def test_their_goal_and_help_note_are_emptied_and_their_name_is_scrubbed_from_text():
    goal = redact(ev("turn.began", {"group": "A1", "learner": X, "goal": "be brief"}), ER)
    assert goal.data == {"group": "A1", "learner": ER.new, "goal": ""}
    help_ = redact(ev("help.requested", {"person": X, "note": "no audio", "room": "p"}), ER)
    assert help_.data["note"] == ""
    y_goal = ev("turn.began", {"group": "A1", "learner": Y, "goal": "ask Ann Lee how"})
    assert redact(y_goal, ER).data["goal"] == "ask [erased] how"
    text = "Thanks ANN LEE (ann.lee@example.org); Ann Leeson and joann lee stay"
    out = redact(ev("announcement.sent", {"text": text}), ER)
    assert out.data["text"] == "Thanks [erased] ([erased]); Ann Leeson and joann lee stay"


def test_an_unknown_event_type_that_mentions_them_keeps_only_its_place():
    e = ev("future.thing", {"who": X, "text": "secret"})
    assert redact(e, ER).type == erasure.DROPPED
    other = ev("future.thing", {"who": Y})
    assert redact(other, ER) == other


def test_redact_log_returns_only_the_events_that_change():
    log = [
        ev("agenda.delayed", {"item_id": "x", "minutes": 5}, seq=1),
        ev("presence.joined", {"person": X, "conn": "w.1"}, actor=X, seq=2),
        ev("presence.joined", {"person": Y, "conn": "w.2"}, actor=Y, seq=3),
    ]
    changed = redact_log(log, ER)
    assert [e.seq for e in changed] == [2]


@pytest.mark.parametrize("token", ["", "xyz", "0123", "G" * 16])
def test_an_erasure_token_must_be_random_hex(token):
    from server.domain.people import Person, Registration
    from server.domain.roles import Role

    p = Person(X, Registration("A B", X_EMAIL, Role.LEARNER, *_nurse_adult()))
    with pytest.raises(ValueError):
        erasure.erasure_of(p, token)


def _nurse_adult():
    from server.domain.people import Discipline, Track

    return Discipline.NURSE, Track.ADULT
