"""Room media through the server with real WebRTC peers (aiortc clients over loopback)."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from typing import Any

import av

from server.config import Settings
from server.content.course import load_course
from server.domain.agenda import build_schedule
from server.domain.rooms import GROUP_KINDS
from server.media.ice import configure
from server.media.settings import IceSettings
from server.service.clock import RehearsalClock
from server.web.app import create_app
from tests.media_peers import ClientPeer, mean_luma, served
from tests.servers import free_port

COURSE = load_course()
SCHEDULE = build_schedule(COURSE)
GROUP_ITEM = next(s for s in SCHEDULE.items if s.item.kind in GROUP_KINDS)
PLENARY_ITEM = SCHEDULE.items[0]

ROSTER = """name,email,role,discipline,track,team,abp_id,dob_mmdd
Dana Director,director@example.org,director,physician,both,,,
Fran Facilitator,fran@example.org,facilitator,nurse,adult,,,
Sam Actor,sam@example.org,sp,other,adult,,,
Lee Learner,lee@example.org,learner,nurse,adult,,,
Kim Learner,kim@example.org,learner,physician,pediatric,,,
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


def person_id(app, email: str) -> str:
    """The id of the person registered with `email` (ids are random, made at registration)."""
    found = app.state.service.state.people.id_of(email)
    assert found is not None, email
    return found


def cookie(app, who: str) -> str:
    pid = person_id(app, f"{who}@example.org")
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
            ids = {who: person_id(app, f"{who}@example.org") for who in LUMA}

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
    base = free_port() // 100 * 100
    ports = (base, base + 39)
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        # The server's media uses only the configured UDP ports.
        app.state.media.ice = IceSettings(addresses=("127.0.0.1",), ports=ports)
        configure(app.state.media.ice)
        peers = {who: ClientPeer(url, cookie(app, who), LUMA[who], slots=2) for who in LUMA}
        try:
            for p in peers.values():
                await p.start()
            lee = person_id(app, "lee@example.org")
            fran = peers["fran"]
            await until(lambda: bool(fran.mids_of(lee, "video")), 30, "fran to see lee")
            await until(
                lambda: all("a=candidate:" in p.answer for p in peers.values()),
                10,
                "every page's answer",
            )
            for p in peers.values():
                found = [
                    int(line.split()[5])
                    for line in p.answer.splitlines()
                    if line.startswith("a=candidate:")
                ]
                assert found and all(ports[0] <= x <= ports[1] for x in found), found
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


def http(url: str, cookie: str, form: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    """GET (or POST `form`) as the person whose session `cookie` is."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, headers={"cookie": cookie})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("content-type", "")


async def ahttp(*args: Any) -> tuple[int, bytes, str]:
    return await asyncio.to_thread(http, *args)


def decoded(path) -> tuple[int, int, float]:
    """Video frames, audio frames and the pictures' mean brightness in a recording file."""
    with av.open(str(path)) as c:
        lumas = [mean_luma(f) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        audio = sum(1 for _ in c.decode(audio=0))
    return len(lumas), audio, sum(lumas[-5:]) / max(1, len(lumas[-5:]))


async def test_a_turn_is_recorded_in_parts_split_at_time_outs(tmp_path, figure):
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        svc = app.state.service
        cookies = {who: cookie(app, who) for who in LUMA}
        peers = {who: ClientPeer(url, cookies[who], LUMA[who], slots=2) for who in LUMA}
        ids = {who: person_id(app, f"{who}@example.org") for who in LUMA}
        group = svc.state.rooms.group_of(ids["lee"]).name
        rp_url = f"{url}/rp/{urllib.parse.quote(group)}"

        def post(who: str, action: str, **form: str) -> str:
            status, body, _ = http(f"{rp_url}/{action}", cookies[who], form)
            assert status == 200, (action, status, body)
            return body.decode()

        try:
            for p in peers.values():
                await p.start()
            await until(
                lambda: all(len(p.state.get("tiles", [])) == 4 for p in peers.values()),
                30,
                "everyone connected",
            )
            # Recording on, but it waits for everyone on the stage to agree.
            await asyncio.to_thread(post, "fran", "recording", on="1")
            case = next(c for c in svc.library.values() if c.track == "adult")
            await asyncio.to_thread(post, "fran", "start", scenario=case.id)
            await asyncio.to_thread(post, "fran", "begin", learner=ids["lee"], goal="Pause")
            await asyncio.sleep(1.5)
            assert "consent" in (peers["lee"].state.get("recording") or "")
            assert app.state.recorder.active == {}
            for who in LUMA:
                await asyncio.to_thread(post, who, "consent", given="1")
            await until(lambda: group in app.state.recorder.active, 10, "recording to start")
            await until(
                lambda: (peers["sam"].state.get("recording") or "").startswith(
                    "● Recording turn 1, part 1"
                ),
                5,
                "the pages to say so",
            )
            await asyncio.sleep(3)
            await asyncio.to_thread(post, "sam", "timeout")
            await asyncio.sleep(1.5)  # the time-out's talk is not recorded
            await asyncio.to_thread(post, "fran", "timein")
            await until(lambda: svc.state.media.recordings, 10, "part 1 saved")
            await asyncio.sleep(3)
            await asyncio.to_thread(post, "fran", "end-turn")
            await until(lambda: len(svc.state.media.recordings) == 6, 15, "six recordings")
        finally:
            for p in peers.values():
                await p.close()

        recs = svc.state.media.recordings
        assert {(r.segment, r.person) for r in recs.values()} == {
            (s, ids[w]) for s in (1, 2) for w in LUMA
        }
        assert all(r.turn == 1 and r.learner == ids["lee"] for r in recs.values())
        folder = tmp_path / "recordings"
        for rec in recs.values():
            video, audio, luma = decoded(folder / rec.file)
            who = next(w for w, pid in ids.items() if pid == rec.person)
            assert video >= 20 and audio >= 50, (rec.id, video, audio)
            assert abs(luma - LUMA[who]) < 25, (rec.id, luma)  # that person's camera

        # The group replays it; others may not.
        rec = next(iter(recs.values()))
        status, body, _ = await ahttp(f"{rp_url}/recordings", cookies["lee"])
        assert status == 200 and body.count(b"<video") == 6
        file_url = f"{url}/recordings/" + "/".join(urllib.parse.quote(x) for x in rec.id.split("/"))
        status, body, kind = await ahttp(file_url, cookies["lee"])
        assert status == 200 and kind == "video/webm" and body[:4] == b"\x1a\x45\xdf\xa3"
        outsider = cookie(app, "kim")
        assert (await ahttp(file_url, outsider))[0] == 404
        assert (await ahttp(f"{rp_url}/recordings", outsider))[0] == 403
        # Bad input: refused, nothing changes.
        before = svc.state.seq
        assert (await ahttp(f"{rp_url}/consent", cookies["lee"], {"given": "maybe"}))[0] == 422
        assert (await ahttp(f"{url}/director/recordings/delete", cookies["lee"], {"id": rec.id}))[
            0
        ] == 403
        director = cookie(app, "director")
        bad = await ahttp(f"{url}/director/recordings/delete", director, {"id": "nope"})
        assert bad[0] == 422
        assert svc.state.seq == before
        # The director deletes one: the file goes with it.
        status, body, _ = await ahttp(
            f"{url}/director/recordings/delete", cookie(app, "director"), {"id": rec.id}
        )
        assert status == 200 and b"deleted" in body
        await until(lambda: not (folder / rec.file).exists(), 5, "the file to be removed")
        assert rec.id not in svc.state.media.recordings
        assert (await ahttp(file_url, cookies["lee"]))[0] == 404
        # Retention: whatever is older than the period is deleted, files too.
        app.state.recorder.retention_days = 1 / 86400  # one second
        await asyncio.sleep(1.1)
        assert await app.state.recorder.expire() == 5
        figure("recordings made (3 people x 2 parts)", 6)
        figure("outsider requests refused", 2)
        figure("expired by retention, files removed", 5)
        assert svc.state.media.recordings == {}
        await until(lambda: not list(folder.rglob("*.webm")), 5, "every file removed")


async def test_a_viewers_keyframe_request_reaches_the_publishers_encoder(tmp_path):
    """A picture-loss report from one viewer (aiortc's sender hears it as PLI/FIR) makes the
    publisher's single encoder send a keyframe, which every viewer gets."""
    app = app_at(tmp_path, GROUP_ITEM.start + timedelta(minutes=1))
    async with served(app) as url:
        peers = {who: ClientPeer(url, cookie(app, who), LUMA[who], slots=2) for who in LUMA}
        try:
            for p in peers.values():
                await p.start()
            lee = person_id(app, "lee@example.org")
            fran = person_id(app, "fran@example.org")
            hub = app.state.media
            await until(
                lambda: all(len(p.state.get("tiles", [])) == 4 for p in peers.values()),
                30,
                "everyone connected",
            )
            source = next(p for p in hub.peers.values() if p.pid == lee).publishers["video"]
            keys: list[float] = []
            source.add_sink(
                lambda packet: keys.append(time.monotonic()) if packet.is_keyframe else None
            )
            await asyncio.sleep(1.5)  # the sink's own keyframe, then none (keyframes on demand)
            keys.clear()
            await asyncio.sleep(1.0)
            assert keys == []
            viewer = next(p for p in hub.peers.values() if p.pid == fran)
            slot = next(s for s in viewer.slots.values() if s.track.source is source)
            asked = time.monotonic()
            slot.transceiver.sender._send_keyframe()  # what aiortc calls on a PLI or FIR
            await until(lambda: bool(keys), 2, "a keyframe")
            assert keys[0] - asked < 0.5
        finally:
            for p in peers.values():
                await p.close()
