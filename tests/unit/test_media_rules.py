"""Room media rules, pure: which room, who is on the stage, who joins muted, who a viewer
sees, when a turn may be recorded and in which part, retention, consent and meeting links."""

from datetime import UTC, datetime, timedelta

import pytest

from server.domain import media
from server.domain.course_state import CourseState
from server.domain.errors import DomainError, PermissionDenied
from server.domain.placement import Place
from server.domain.roleplay import (
    BeginTurn,
    EndTurn,
    RoleplaysState,
    StartRoleplay,
    TimeIn,
    TimeOut,
)
from server.domain.roles import MEDIA_ACTOR, Actor, Role
from server.domain.rooms import GroupInfo, RoomsState
from tests.unit.harness import Course

T0 = datetime(2026, 5, 14, 15, 15, tzinfo=UTC)
G = "Adult 1"
ROOMS = RoomsState(
    groups={
        G: GroupInfo(G, "adult", "fac", ("sp",), ("a", "b", "c")),
        "Adult 2": GroupInfo("Adult 2", "adult", "fac2", (), ("x",)),
    },
    member_of={"a": G, "b": G, "c": G, "x": "Adult 2"},
)
FAC, SP, DIR = Actor("fac", Role.FACILITATOR), Actor("sp", Role.SP), Actor("d", Role.DIRECTOR)
A, B, X = Actor("a", Role.LEARNER), Actor("b", Role.LEARNER), Actor("x", Role.LEARNER)
PRESENT = [("a", Role.LEARNER), ("fac", Role.FACILITATOR), ("b", Role.LEARNER), ("sp", Role.SP)]


def World():
    return Course(CourseState(rooms=ROOMS), now=T0)


def scene(w: World) -> None:
    w.do(StartRoleplay(G, "case", "adult", ("b1",), 8), FAC)
    w.do(BeginTurn(G, "a", "Pause"), FAC)


def test_breaks_have_no_media_room_and_sessions_do():
    assert media.media_room(Place("break", "break", "Lunch", None)) is None
    assert media.media_room(Place("none", "none", "-", None)) is None
    assert media.media_room(Place("group", "group:Adult 1", "-", None)) == "group:Adult 1"
    assert media.media_room(Place("plenary", "plenary", "-", None)) == "plenary"


def test_between_scenes_a_group_is_a_gallery_of_equals():
    lay = media.layout(f"group:{G}", PRESENT, ROOMS, RoleplaysState())
    assert lay.stage == () and lay.muted_on_join == frozenset()
    assert lay.others == ("a", "fac", "b", "sp")


def test_during_a_scene_the_stage_is_sp_hot_seat_and_facilitator_and_observers_join_muted():
    w = World()
    scene(w)
    lay = media.layout(f"group:{G}", PRESENT, ROOMS, w.rps)
    assert lay.stage == ("sp", "a", "fac")
    assert lay.others == ("b",) and lay.muted_on_join == frozenset({"b"})
    # A viewer sees the stage first and never themself.
    assert media.visible(lay, "b") == ["sp", "a", "fac"]
    assert media.visible(lay, "a") == ["sp", "fac", "b"]
    assert media.visible(lay, "b", limit=2) == ["sp", "a"]
    w.do(TimeOut(G), FAC)
    assert media.layout(f"group:{G}", PRESENT, ROOMS, w.rps).label == "Time-out"


def test_in_plenary_the_staff_are_on_stage_and_learners_join_muted():
    lay = media.layout("plenary", [*PRESENT, ("d", Role.DIRECTOR)], ROOMS, RoleplaysState())
    assert lay.stage == ("fac", "d")
    assert lay.muted_on_join == frozenset({"a", "b", "sp"})


def test_recording_needs_it_on_a_running_scene_and_everyone_on_stage_agreeing():
    w = World()
    scene(w)
    rp = w.rps.of(G)
    assert media.recording_blocked(w.media, ROOMS, rp) == "Recording is off for this group."
    with pytest.raises(DomainError, match="facilitator"):
        w.do(media.SetRecording(G, True), A)
    w.do(media.SetRecording(G, True), FAC)
    assert "3 of 3" in media.recording_blocked(w.media, ROOMS, rp)
    w.do(media.GiveConsent(G, True), A)
    w.do(media.GiveConsent(G, True), SP)
    assert "1 of 3" in media.recording_blocked(w.media, ROOMS, rp)
    w.do(media.GiveConsent(G, True), FAC)
    assert media.recording_blocked(w.media, ROOMS, rp) is None
    assert media.segment_of(rp) == (1, 1)
    # A time-out pauses it; after time-in it is the turn's second part.
    w.do(TimeOut(G), SP)
    assert (
        media.recording_blocked(w.media, ROOMS, w.rps.of(G)) == "Only a running scene is recorded."
    )
    assert media.segment_of(w.rps.of(G)) is None
    w.do(TimeIn(G), FAC)
    assert media.segment_of(w.rps.of(G)) == (1, 2)
    # Anyone on the stage withdrawing stops it.
    w.do(media.GiveConsent(G, False), A)
    assert "1 of 3" in media.recording_blocked(w.media, ROOMS, w.rps.of(G))
    w.do(EndTurn(G), FAC)
    assert media.segment_of(w.rps.of(G)) is None


def test_consent_is_idempotent_and_only_for_people_in_the_group():
    w = World()
    assert len(w.do(media.GiveConsent(G, True), B)) == 1
    assert w.do(media.GiveConsent(G, True), B) == []
    with pytest.raises(DomainError, match="not in group"):
        w.do(media.GiveConsent(G, True), X)
    with pytest.raises(DomainError, match="no group"):
        w.do(media.GiveConsent("Nope", True), B)


def save(w, segment=1, person="a", ended=T0, size=100):
    return w.do(
        media.SaveRecording(
            G, 1, segment, person, f"f{segment}{person}.webm", T0, ended, size, "a"
        ),
        MEDIA_ACTOR,
    )


def test_only_the_media_server_saves_and_expires_and_only_the_director_deletes():
    w = World()
    with pytest.raises(DomainError):
        w.do(media.SaveRecording(G, 1, 1, "a", "f.webm", T0, T0, 1), DIR)
    save(w)
    (rid,) = w.media.recordings
    assert rid == f"{G}/1.1.{int(T0.timestamp())}/a"
    with pytest.raises(DomainError, match="already saved"):
        save(w)
    with pytest.raises(PermissionDenied):
        w.do(media.DeleteRecording(rid), FAC)
    with pytest.raises(DomainError):
        w.do(media.DeleteRecording(rid, "expired"), DIR)
    (e,) = w.do(media.DeleteRecording(rid), DIR)
    assert e.data["file"] == "f1a.webm" and w.media.recordings == {}
    with pytest.raises(DomainError, match="no recording"):
        w.do(media.DeleteRecording(rid), DIR)


def test_retention_expires_what_ended_before_the_period():
    w = World()
    save(w, 1, "a", ended=T0)
    save(w, 2, "a", ended=T0 + timedelta(days=3))
    ids = sorted(w.media.recordings)
    assert media.expired(w.media, T0 + timedelta(days=2, hours=1), 2) == [ids[0]]
    assert media.expired(w.media, T0 + timedelta(days=30), 0) == []  # 0 keeps them


def test_meeting_links_are_https_on_known_rooms_and_director_only():
    w = World()
    with pytest.raises(PermissionDenied):
        w.do(media.SetRoomLink("plenary", "https://example.org/j/1"), FAC)
    for room, url, reason in [
        ("plenary", "http://example.org/j/1", "https://"),
        ("plenary", "javascript:alert(1)", "https://"),
        ("plenary", "https://ex ample.org", "https://"),
        ("plenary", "https://" + "a" * 600, "at most"),
        ("lobby", "https://example.org", "not a room"),
        ("group:Nope", "https://example.org", "no group"),
    ]:
        with pytest.raises(DomainError, match=reason):
            w.do(media.SetRoomLink(room, url), DIR)
    w.do(media.SetRoomLink(f"group:{G}", " https://example.org/j/1 "), DIR)
    assert w.media.links == {f"group:{G}": "https://example.org/j/1"}
    assert w.do(media.SetRoomLink(f"group:{G}", "https://example.org/j/1"), DIR) == []
    w.do(media.SetRoomLink(f"group:{G}", ""), DIR)
    assert w.media.links == {}


def test_only_the_group_and_the_director_replay():
    assert media.may_replay(ROOMS, A, G) and media.may_replay(ROOMS, SP, G)
    assert media.may_replay(ROOMS, FAC, G) and media.may_replay(ROOMS, DIR, G)
    assert not media.may_replay(ROOMS, X, G)
    assert not media.may_replay(ROOMS, Actor("fac2", Role.FACILITATOR), G)
