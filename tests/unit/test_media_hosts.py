"""Where rooms live when the course's media runs on several Janus instances, who may share a
screen, and how the engine is named on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import media
from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event
from server.domain.roles import MEDIA_ACTOR, Actor, Role
from server.domain.rooms import GroupInfo, RoomsState
from server.media.janus import JanusSettingsError, display_of, feed_of, parse_janus

NOW = datetime(2026, 5, 14, 15, 20, tzinfo=UTC)
ROOMS = st.sampled_from(["plenary", "track:adult", *(f"group:G{i}" for i in range(12))])
NAMES = ["a:1", "b:2", "c:3"]


def test_a_room_stays_where_it_lives_while_that_instance_is_alive():
    hosts = {"group:A": "b:2"}
    assert media.host_for(hosts, NAMES, "group:A") == "b:2"


def test_new_rooms_go_to_the_least_loaded_live_instance():
    hosts = {"group:A": "a:1", "group:B": "a:1", "group:C": "b:2"}
    assert media.host_for(hosts, NAMES, "group:D") == "c:3"
    assert media.host_for(hosts, ["a:1", "b:2"], "group:D") == "b:2"


def test_a_dead_instances_rooms_move_and_none_when_nothing_is_alive():
    hosts = {"group:A": "a:1", "group:B": "b:2"}
    assert media.host_for(hosts, ["b:2", "c:3"], "group:A") == "c:3"
    assert media.host_for(hosts, [], "group:A") is None


@given(
    st.dictionaries(ROOMS, st.sampled_from(NAMES)),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
    ROOMS,
)
def test_placing_rooms_one_by_one_keeps_the_live_instances_balanced(hosts, alive, room):
    chosen = media.host_for(hosts, alive, room)
    assert chosen in alive
    if hosts.get(room) in alive:
        assert chosen == hosts[room]  # a room is never split or moved while its host lives
    else:
        load = {n: sum(1 for r, h in hosts.items() if h == n and r != room) for n in alive}
        assert load[chosen] == min(load.values())


def test_hosting_is_recorded_by_the_media_engine_only_and_once():
    state = media.MediaState()
    rooms = RoomsState()
    from server.domain.roleplay import RoleplaysState

    cmd = media.HostRoom("group:A", "a:1")
    events = media.decide_media(state, rooms, RoleplaysState(), cmd, MEDIA_ACTOR, NOW)
    assert [e.type for e in events] == ["room.hosted"]
    e = events[0]
    state = media.apply_media(state, Event(1, e.type, e.actor, e.at, e.data))
    assert state.hosts == {"group:A": "a:1"}
    assert media.decide_media(state, rooms, RoleplaysState(), cmd, MEDIA_ACTOR, NOW) == []
    director = Actor("d", Role.DIRECTOR)
    with pytest.raises(PermissionDenied):
        media.decide_media(state, rooms, RoleplaysState(), cmd, director, NOW)
    with pytest.raises(DomainError):
        media.decide_media(
            state, rooms, RoleplaysState(), media.HostRoom("kitchen", "a:1"), MEDIA_ACTOR, NOW
        )


def test_who_may_share_a_screen():
    g = GroupInfo("A", "adult", "fac", ("sp",), ("l1", "l2"))
    rooms = RoomsState(groups={"A": g})
    allow = media.may_share_screen
    assert allow(Role.DIRECTOR, "d", "plenary", rooms) is None
    assert allow(Role.FACILITATOR, "other", "track:adult", rooms) is None
    assert allow(Role.FACILITATOR, "fac", "group:A", rooms) is None
    assert allow(Role.DIRECTOR, "d", "group:A", rooms) is None
    assert "facilitator" in (allow(Role.FACILITATOR, "other", "group:A", rooms) or "")
    assert "staff" in (allow(Role.LEARNER, "l1", "plenary", rooms) or "")
    assert "staff" in (allow(Role.SP, "sp", "group:A", rooms) or "")
    assert allow(Role.DIRECTOR, "d", None, rooms)


def test_the_engine_on_the_command_line():
    assert parse_janus("janus://127.0.0.1:8188") == ("ws://127.0.0.1:8188",)
    assert parse_janus("janus://a:1, janus://b:2") == ("ws://a:1", "ws://b:2")
    for bad in (
        "",
        "http://a:1",
        "janus://a",
        "janus://a:0",
        "janus://:5",
        "janus://a:1,janus://a:1",
    ):
        with pytest.raises(JanusSettingsError) as err:
            parse_janus(bad)
        assert "janus://" in str(err.value) or "twice" in str(err.value)


def test_a_feed_is_ours_only_if_the_companion_wrote_its_display():
    d = display_of("p1", "cam", {"audio": True, "video": False})
    assert feed_of({"id": "x", "display": d, "publisher": True}).pid == "p1"
    assert feed_of({"id": "x", "display": d, "publisher": False}) is None
    assert feed_of({"id": "x", "display": "Mallory", "publisher": True}) is None
    assert feed_of({"id": "x", "publisher": True}) is None


def test_serve_refuses_a_bad_engine_or_missing_janus_secrets(monkeypatch):
    import argparse

    from server.config import UsageError, media_settings

    monkeypatch.delenv("COMPANION_JANUS_SECRET", raising=False)
    monkeypatch.delenv("COMPANION_MEDIA", raising=False)
    assert media_settings(argparse.Namespace())["engine"] == "aiortc"
    with pytest.raises(UsageError, match="janus://"):
        media_settings(argparse.Namespace(media=["http://a:1"]))
    with pytest.raises(UsageError, match="COMPANION_JANUS_SECRET"):
        media_settings(argparse.Namespace(media=["janus://a:1"]))
    monkeypatch.setenv("COMPANION_JANUS_SECRET", "s")
    monkeypatch.setenv("COMPANION_JANUS_ADMIN_KEY", "k")
    got = media_settings(argparse.Namespace(media=["janus://a:1", "janus://b:2"]))
    assert got["engine"] == "janus://a:1,janus://b:2" and got["janus_secret"] == "s"
