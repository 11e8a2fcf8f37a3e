"""Room media through the server with real WebRTC peers (aiortc clients over loopback)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from server.app import Settings, create_app
from server.clock import RehearsalClock
from server.content import load_course
from server.domain.agenda import build_schedule
from server.domain.people import person_id
from server.domain.rooms import GROUP_KINDS
from server.media.ice import IceSettings
from tests.media_peers import ClientPeer, served

COURSE = load_course()
SCHEDULE = build_schedule(COURSE)
GROUP_ITEM = next(s for s in SCHEDULE.items if s.item.kind in GROUP_KINDS)
PLENARY_ITEM = SCHEDULE.items[0]

ROSTER = """name,email,role,discipline,track,team,abp_id,dob_mmdd
Dana Director,director@example.org,director,physician,both,,,
Fran Facilitator,fran@example.org,facilitator,nurse,adult,,,
Sam Actor,sam@example.org,sp,other,adult,,,
Lee Learner,lee@example.org,learner,nurse,adult,,,
"""
LUMA = {"fran": 60, "sam": 130, "lee": 200}


def app_at(tmp_path, start, **extra):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'log.db'}",
        secret="test-secret",
        clock=RehearsalClock(start, 1.0),
        roster=str(roster),
        ice=IceSettings(addresses=("127.0.0.1",)),
        recordings_dir=tmp_path / "recordings",
        **extra,
    )
    return create_app(settings)


def cookie(app, who: str) -> str:
    pid = person_id(f"{who}@example.org")
    p = app.state.service.state.people.by_id[pid]
    return "companion_session=" + app.state.signer.session_value(pid, p.link_version)


async def until(check, limit: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_peers_in_a_small_group_see_and_hear_each_other(tmp_path):
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        # Fewer slots than people: the server asks the page for more and it renegotiates.
        peers = {who: ClientPeer(url, cookie(app, who), LUMA[who], slots=1) for who in LUMA}
        try:
            for p in peers.values():
                await p.start()
            ids = {who: person_id(f"{who}@example.org") for who in LUMA}

            def everyone_sees_everyone() -> bool:
                for who, p in peers.items():
                    for other in LUMA:
                        if other == who:
                            continue
                        v = p.mids_of(ids[other], "video")
                        a = p.mids_of(ids[other], "audio")
                        if not v or not a:
                            return False
                        if len(p.frames[v[0]]) < 15 or len(p.frames[a[0]]) < 25:
                            return False
                return True

            await until(everyone_sees_everyone, 45, "every peer to receive the others")
            for who, p in peers.items():
                assert p.state["room"].startswith("group:")
                assert not p.errors, p.errors
                assert p.slots("video") >= 2  # it was asked for a second slot
                for other in LUMA:
                    if other == who:
                        continue
                    (v,) = p.mids_of(ids[other], "video")
                    (a,) = p.mids_of(ids[other], "audio")
                    # The picture in that slot is the other person's (their brightness), not
                    # the viewer's own or a third person's.
                    recent = p.frames[v][-10:]
                    assert all(abs(x - LUMA[other]) < 25 for x in recent), (who, other, recent)
                    assert sum(p.frames[a][-20:]) / 20 > 1000  # the tone, not silence
            hub = app.state.media
            # Each publisher was encoded once however many viewers it has.
            for peer in hub.peers.values():
                video = peer.publishers["video"]
                assert len(video.viewers) == 2
                assert video.encoded <= video.frames_in
        finally:
            for p in peers.values():
                await p.close()


async def test_leaving_and_muting_reach_the_others(tmp_path):
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        peers = {who: ClientPeer(url, cookie(app, who), LUMA[who], slots=2) for who in LUMA}
        try:
            for p in peers.values():
                await p.start()
            lee = person_id("lee@example.org")
            fran = peers["fran"]
            await until(lambda: bool(fran.mids_of(lee, "video")), 30, "fran to see lee")
            await peers["lee"].send({"type": "media.mute", "audio": True})
            await until(
                lambda: any(
                    t["person"] == lee and t["muted"].get("audio") for t in fran.state["tiles"]
                ),
                10,
                "lee's tile to show muted",
            )
            await peers["lee"].send({"type": "media.mute", "audio": "yes"})
            await until(lambda: bool(peers["lee"].errors), 5, "an error for a bad mute")
            assert "true or false" in peers["lee"].errors[-1]
            await peers["lee"].close()
            await until(lambda: not fran.mids_of(lee, "video"), 10, "lee's tile to go")
        finally:
            for who, p in peers.items():
                if who != "lee":
                    await p.close()


async def test_a_bad_offer_gets_a_clear_error_and_nothing_breaks(tmp_path):
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        p = ClientPeer(url, cookie(app, "lee"), publish=False, slots=1)
        try:
            await p.start()
            await p.send({"type": "media.offer", "sdp": "hello"})
            await p.send({"type": "media.offer", "sdp": "v=0\r\nnonsense"})
            await p.send({"type": "media.bogus"})
            await until(lambda: len(p.errors) >= 3, 10, "three errors")
            assert sum("SDP offer" in e for e in p.errors) == 2, p.errors
            assert any("Unknown media message 'media.bogus'" in e for e in p.errors)
            await until(lambda: p.state.get("room") is not None, 10, "a media state")
        finally:
            await p.close()
