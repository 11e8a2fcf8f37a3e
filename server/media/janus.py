"""The Janus media engine: every room's audio and video forwarded by Janus (VideoRoom), which
passes each publisher's own packets on without decoding them.

Browsers never see Janus's API: a page signals only through its live socket, and this engine
makes every request to Janus itself, with each room's pin and secret (derived from the course
secret, so every worker and host computes the same). A page therefore publishes and subscribes
only in the room placement puts it in.

Per page, up to three handles on the room's Janus instance: its camera and microphone (a
publisher), what it watches (one multistream subscriber), and a shared screen (a second
publisher). Which instance a room lives on is recorded in the course log (`room.hosted`), so
any worker's page joins any room and a room is never split; new rooms go to the least loaded
live instance, and when an instance dies its rooms are placed again and the pages it served are
told to reconnect, which they do by themselves.

From a page: `media.watch`, `media.offer {sdp}` (camera), `media.sub.answer {sdp}`,
`media.screen.offer {sdp}`, `media.screen.stop`, `media.mute {audio, video}`,
`media.quality {level}`, `media.leave`.
To a page: `media.state`, `media.answer {sdp}`, `media.sub.offer {sdp, fresh}`,
`media.screen.answer {sdp}`, `media.screen.ended {message}`, `media.error {message, retry}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.domain import media
from server.domain.placement import places_of
from server.domain.roles import MEDIA_ACTOR, ROLE_LABELS, Role
from server.live.hub import Outgoing
from server.media.common import MediaError, RoomEngine, check_sdp, state_text
from server.media.janus_link import JanusError, JanusLink
from server.media.janus_rec import JanusRecorder

if TYPE_CHECKING:
    from server.media.recording import Recorder
    from server.service.course import CourseService

log = logging.getLogger("companion.media.janus")

PUBLISHERS = 250  # per room: a plenary where everyone has a camera on
BITRATE = 1_200_000  # bits/s a publisher may send, all layers together
IDLE_ROOM = 60.0  # seconds a room nobody is placed in stays before it is destroyed
LAYERS = {"high": 1, "low": 0}  # simulcast substreams: rids h (640×360) and l (320×180)
QUALITY = ("high", "low", "audio")  # what a viewer's link can take, best first
ROOM_EXISTS, NO_SUCH_ROOM, NO_SUCH_FEED = 427, 426, 428


class JanusSettingsError(ValueError):
    pass


def parse_janus(spec: str) -> tuple[str, ...]:
    """`janus://HOST:PORT[,janus://HOST:PORT…]` as a tuple of WebSocket URLs."""
    urls = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if not part.startswith("janus://"):
            raise JanusSettingsError(f"--media: {part!r} is not janus://HOST:PORT")
        hostport = part.removeprefix("janus://").rstrip("/")
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise JanusSettingsError(
                f"--media: {part!r} needs a host and a port (janus://HOST:PORT)"
            )
        urls.append(f"ws://{hostport}")
    if not urls:
        raise JanusSettingsError("--media janus:// needs at least one HOST:PORT")
    if len(set(urls)) != len(urls):
        raise JanusSettingsError("--media names the same Janus instance twice")
    return tuple(urls)


@dataclass
class Handle:
    link: JanusLink
    id: int
    epoch: int
    room: str  # the companion's room key
    feed: str = ""  # a publisher's participant id


@dataclass
class Sub:
    handle: Handle
    mids: dict[str, tuple[str, str]] = field(default_factory=dict)  # mid -> (feed, kind)
    sent: dict[str, tuple[int, bool]] = field(default_factory=dict)  # mid -> (layer, on)
    busy: bool = False  # an offer is out and its answer not back


@dataclass
class Peer:
    key: str
    pid: str
    role: Role
    send: Callable[[Outgoing], None]
    order: int
    want: str = ""  # "" (not joined), "watch", "publish"
    muted: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    room: str | None = None
    pub: Handle | None = None
    screen: Handle | None = None
    sub: Sub | None = None
    quality: str = "high"
    last_state: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(frozen=True)
class Feed:
    id: str
    pid: str
    kind: str  # "cam" or "screen"
    muted: tuple[bool, bool] = (False, False)  # audio, video


def display_of(pid: str, kind: str, muted: dict[str, bool]) -> str:
    return json.dumps({"p": pid, "k": kind, "a": muted["audio"], "v": muted["video"]})


def feed_of(participant: dict[str, Any]) -> Feed | None:
    """A room's participant as a feed, if it is one of ours (the display is written by the
    companion, never by a browser) and is publishing."""
    if not participant.get("publisher"):
        return None
    try:
        d = json.loads(str(participant.get("display", "")))
        return Feed(str(participant["id"]), str(d["p"]), str(d["k"]), (bool(d["a"]), bool(d["v"])))
    except (ValueError, KeyError, TypeError):
        return None


def room_key(secret: str) -> bytes:
    """The key every room's Janus name, pin and secret derive from: the course secret's, so
    every worker and host computes the same and nobody without the secret can."""
    return hmac.new(secret.encode(), b"janus rooms", hashlib.sha256).digest()


def janus_room(key: bytes, room: str) -> str:
    """`room`'s name in Janus: the course's tag first, so courses can share an instance."""
    tag = hmac.new(key, b"course", hashlib.sha256).hexdigest()[:10]
    return f"{tag}/{room}"


class JanusHub(RoomEngine[Peer]):
    engine_name = "janus"
    peer_type = Peer
    name = "janus"
    tick = 2.0  # other workers' pages join rooms without waking this one
    slow = 0.5
    retry_on_timeout = True

    def __init__(
        self,
        service: CourseService,
        urls: tuple[str, ...],
        secret: str,
        api_secret: str,
        admin_key: str,
        ice: Any = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(service)
        self.ice = ice
        self.recorder = recorder
        self.rec = JanusRecorder(recorder) if recorder is not None else None
        self._key = room_key(secret)
        self.admin_key = admin_key
        self.links = [JanusLink(u, api_secret, self._on_event, self._on_lost) for u in urls]
        self._created: dict[str, set[str]] = defaultdict(set)  # link name -> janus room ids
        self._idle: dict[str, float] = {}  # janus room id -> when nobody was placed there
        self.feeds: dict[str, list[Feed]] = {}  # room -> its feeds, from the last pass

    # --- names and secrets -------------------------------------------------------------------

    def janus_room(self, room: str) -> str:
        return janus_room(self._key, room)

    def _secret(self, room: str, what: str) -> str:
        return hmac.new(self._key, f"{what}:{room}".encode(), hashlib.sha256).hexdigest()

    def link_named(self, name: str) -> JanusLink | None:
        return next((lk for lk in self.links if lk.name == name), None)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for link in self.links:
            link.start()
        self._start_loop()

    async def stop(self) -> None:
        await self._stop_loop()
        if self.rec is not None:
            await self.rec.close_all(self.service.clock.now())
        for key in list(self.peers):
            await self.leave(key)
        for link in self.links:
            await link.close()

    async def _loop(self) -> None:
        for link in self.links:
            await link.wait_up(5)
        await super()._loop()

    def _on_event(self, link: JanusLink, msg: dict[str, Any]) -> None:
        kind = msg.get("janus")
        handle = msg.get("sender")
        for peer in self.peers.values():
            if (
                kind in ("hangup", "detached")
                and peer.screen
                and peer.screen.id == handle
                and peer.screen.link is link
            ):
                # The browser's own "Stop sharing" ends the PeerConnection's track: Janus
                # hangs up the handle.
                peer.screen = None
                peer.send(json.dumps({"type": "media.screen.ended"}))
            sub = peer.sub
            if sub is not None and sub.handle.id == handle and sub.handle.link is link:
                data = (msg.get("plugindata") or {}).get("data") or {}
                self._streams(sub, data)
                jsep = msg.get("jsep")
                if isinstance(jsep, dict) and jsep.get("type") == "offer":
                    # A publisher left (or stopped a stream): Janus renegotiates by itself.
                    sub.busy = True
                    sub.sent = {}
                    peer.send(
                        json.dumps({"type": "media.sub.offer", "sdp": jsep["sdp"], "fresh": False})
                    )
        self._wake.set()

    def _on_lost(self, link: JanusLink) -> None:
        """An instance died: everything on it is gone. Its rooms are placed again on the next
        pass; each page it served is told to connect again."""
        log.warning("janus %s lost: its rooms move to another instance", link.name)
        self._created.pop(link.name, None)
        for peer in self.peers.values():
            lost = False
            for attr in ("pub", "screen"):
                h = getattr(peer, attr)
                if h is not None and h.link is link:
                    setattr(peer, attr, None)
                    lost = True
            if peer.sub is not None and peer.sub.handle.link is link:
                peer.sub = None
                lost = True
            if lost:
                peer.last_state = ""
                peer.send(
                    json.dumps(
                        {
                            "type": "media.error",
                            "message": "The audio/video server was lost; reconnecting…",
                            "retry": True,
                        }
                    )
                )
        self._wake.set()

    # --- pages -------------------------------------------------------------------------------

    async def _hang_up(self, peer: Peer) -> None:
        self._cancel_tasks(peer)
        handles = [peer.pub, peer.screen, peer.sub.handle if peer.sub else None]
        peer.pub = peer.screen = None
        peer.sub = None
        peer.want = ""
        for h in handles:
            if h is not None:
                await h.link.detach(h.id)

    async def handle(self, key: str, msg: dict[str, Any]) -> None:
        peer = self.peers.get(key)
        if peer is None:
            return
        kind = msg.get("type")
        work: Coroutine[Any, Any, None]
        if kind == "media.offer":
            work = self._publish(peer, check_sdp(msg.get("sdp"), "media.offer"), "cam")
        elif kind == "media.screen.offer":
            work = self._publish(peer, check_sdp(msg.get("sdp"), "media.screen.offer"), "screen")
        elif kind == "media.sub.answer":
            work = self._answer(peer, check_sdp(msg.get("sdp"), "media.sub.answer"))
        else:
            await self._guarded(peer, kind, self._other(peer, kind, msg))
            return
        self._in_background(peer, work, kind)

    def _refusal(self, e: Exception) -> str | None:
        return f"The audio/video server refused: {e}" if isinstance(e, JanusError) else None

    async def _other(self, peer: Peer, kind: Any, msg: dict[str, Any]) -> None:
        if kind == "media.watch":
            if not peer.want:
                peer.want = "watch"
            peer.last_state = ""
        elif kind == "media.mute":
            for k in ("audio", "video"):
                value = msg.get(k)
                if value is None:
                    continue
                if not isinstance(value, bool):
                    raise MediaError(f"media.mute: {k} must be true or false.")
                peer.muted[k] = value
            if peer.pub is not None:
                await peer.pub.link.message(
                    peer.pub.id,
                    {"request": "configure", "display": display_of(peer.pid, "cam", peer.muted)},
                )
        elif kind == "media.quality":
            level = msg.get("level")
            if level not in QUALITY:
                raise MediaError(f"media.quality: level must be one of {', '.join(QUALITY)}.")
            peer.quality = str(level)
        elif kind == "media.screen.stop":
            if peer.screen is not None:
                h, peer.screen = peer.screen, None
                await h.link.detach(h.id)
        elif kind == "media.leave":
            async with peer.lock:
                await self._hang_up(peer)
        else:
            raise MediaError(f"Unknown media message {kind!r}.")
        self._wake.set()

    # --- publishing --------------------------------------------------------------------------

    def _room_now(self, peer: Peer) -> str | None:
        svc = self.service
        place = places_of(
            svc.state.rooms, svc.state.people, svc.schedule, [peer.pid], svc.clock.now()
        )[peer.pid]
        return media.media_room(place)

    async def _host(self, room: str) -> JanusLink:
        """The live instance `room` lives on, placing (and recording) it if need be, with the
        room created there."""
        alive = [lk.name for lk in self.links if lk.alive]
        name = media.host_for(self.service.state.media.hosts, alive, room)
        if name is None:
            raise MediaError("No audio/video server is reachable right now; retrying.")
        if self.service.state.media.hosts.get(room) != name:
            await self.service.execute(media.HostRoom(room, name), MEDIA_ACTOR)
            log.info("janus: room %s now on %s", room, name)
        link = self.link_named(name)
        assert link is not None
        jr = self.janus_room(room)
        if jr not in self._created[name]:
            body = {
                "request": "create",
                "room": jr,
                "admin_key": self.admin_key,
                "secret": self._secret(room, "secret"),
                "pin": self._secret(room, "pin"),
                "is_private": True,
                "publishers": PUBLISHERS,
                "bitrate": BITRATE,
                "fir_freq": 10,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "description": room[:60],
            }
            if self.rec is not None and room.startswith("group:"):
                body["rec_dir"] = str(self.rec.raw)
            try:
                await link.room(body)
            except JanusError as e:
                if e.code != ROOM_EXISTS:
                    raise
            self._created[name].add(jr)
        return link

    async def _publish(self, peer: Peer, sdp: str, kind: str) -> None:
        room = self._room_now(peer)
        if room is None:
            raise MediaError("There is no room right now (a break).")
        if self.service.state.media.links.get(room):
            raise MediaError("This room meets in its external meeting.")
        if kind == "screen":
            why = media.may_share_screen(peer.role, peer.pid, room, self.service.state.rooms)
            if why:
                raise MediaError(why)
        async with peer.lock:
            old = peer.pub if kind == "cam" else peer.screen
            if old is not None:
                await old.link.detach(old.id)
                setattr(peer, "pub" if kind == "cam" else "screen", None)
            link = await self._host(room)
            handle = Handle(
                link,
                await link.attach(),
                link.epoch,
                room,
                f"{kind}-{peer.pid}-{secrets.token_hex(4)}",
            )
            try:
                await link.message(
                    handle.id,
                    {
                        "request": "join",
                        "ptype": "publisher",
                        "room": self.janus_room(room),
                        "pin": self._secret(room, "pin"),
                        "id": handle.feed,
                        "display": display_of(
                            peer.pid,
                            kind,
                            peer.muted if kind == "cam" else {"audio": True, "video": False},
                        ),
                    },
                )
                _, jsep = await link.message(
                    handle.id,
                    {"request": "publish", "bitrate": BITRATE},
                    {"type": "offer", "sdp": sdp, "trickle": False},
                )
            except BaseException:
                await link.detach(handle.id)
                raise
            if not jsep or jsep.get("type") != "answer":
                await link.detach(handle.id)
                raise MediaError("The audio/video server did not answer the offer.")
            if kind == "cam":
                peer.pub = handle
                peer.want = "publish"
                peer.send(json.dumps({"type": "media.answer", "sdp": jsep["sdp"]}))
            else:
                peer.screen = handle
                peer.send(json.dumps({"type": "media.screen.answer", "sdp": jsep["sdp"]}))
            peer.last_state = ""
        self._wake.set()

    # --- watching ----------------------------------------------------------------------------

    async def _answer(self, peer: Peer, sdp: str) -> None:
        sub = peer.sub
        if sub is None or not sub.busy:
            raise MediaError("No offer to answer.")
        await sub.handle.link.message(
            sub.handle.id, {"request": "start"}, {"type": "answer", "sdp": sdp, "trickle": False}
        )
        sub.busy = False
        self._wake.set()

    async def _subscribe(self, peer: Peer, room: str, feeds: list[str]) -> None:
        """Make `peer`'s subscription in `room` carry exactly `feeds`."""
        async with peer.lock:
            sub = peer.sub
            if sub is not None and (
                sub.handle.room != room
                or sub.handle.epoch != sub.handle.link.epoch
                or not sub.handle.link.alive
            ):
                await sub.handle.link.detach(sub.handle.id)
                peer.sub = sub = None
            if sub is None:
                if not feeds:
                    return
                link = await self._host(room)
                h = Handle(link, await link.attach(), link.epoch, room)
                try:
                    data, jsep = await link.message(
                        h.id,
                        {
                            "request": "join",
                            "ptype": "subscriber",
                            "room": self.janus_room(room),
                            "pin": self._secret(room, "pin"),
                            "streams": [{"feed": f} for f in feeds],
                        },
                    )
                except BaseException:
                    await link.detach(h.id)
                    raise
                peer.sub = sub = Sub(h)
                self._streams(sub, data)
                fresh = True
            else:
                have = {fid for fid, _ in sub.mids.values()}
                if sub.busy or have == set(feeds):
                    return
                add = [{"feed": f} for f in feeds if f not in have]
                drop = [{"feed": f} for f in have if f not in feeds]
                body: dict[str, Any] = {"request": "update"}
                if add:
                    body["subscribe"] = add
                if drop:
                    body["unsubscribe"] = drop
                data, jsep = await sub.handle.link.message(sub.handle.id, body)
                self._streams(sub, data)
                fresh = False
            if jsep and jsep.get("type") == "offer":
                sub.busy = True
                sub.sent = {}
                peer.send(
                    json.dumps({"type": "media.sub.offer", "sdp": jsep["sdp"], "fresh": fresh})
                )
            peer.last_state = ""

    @staticmethod
    def _streams(sub: Sub, data: dict[str, Any]) -> None:
        streams = data.get("streams")
        if not isinstance(streams, list):
            return
        mids = {}
        for s in streams:
            if not isinstance(s, dict) or s.get("active") is False or "feed_id" not in s:
                continue
            kind = str(s.get("type", ""))
            if kind in ("audio", "video"):
                mids[str(s["mid"])] = (str(s["feed_id"]), kind)
        sub.mids = mids

    async def _layers(self, peer: Peer, stage: set[str], feeds: dict[str, Feed]) -> None:
        """Each video stream at the layer its tile needs and the viewer's link can take: the
        stage and shared screens high, thumbnails low; on a poor link everything low; last,
        audio only."""
        sub = peer.sub
        if sub is None or sub.busy:
            return
        want: dict[str, tuple[int, bool]] = {}
        for mid, (fid, kind) in sub.mids.items():
            if kind != "video":
                continue
            feed = feeds.get(fid)
            big = feed is not None and (feed.kind == "screen" or feed.pid in stage)
            if peer.quality == "audio" and not (feed and feed.kind == "screen"):
                want[mid] = (0, False)
            elif peer.quality == "low" or not big:
                want[mid] = (LAYERS["low"], True)
            else:
                want[mid] = (LAYERS["high"], True)
        changed = {mid: v for mid, v in want.items() if sub.sent.get(mid) != v}
        if not changed:
            return
        streams = [{"mid": m, "substream": layer, "send": on} for m, (layer, on) in changed.items()]
        await sub.handle.link.message(sub.handle.id, {"request": "configure", "streams": streams})
        sub.sent.update(changed)

    # --- who sees whom -----------------------------------------------------------------------

    async def reconcile(self) -> None:
        svc = self.service
        state, now = svc.state, svc.clock.now()
        peers = sorted(self.peers.values(), key=lambda p: p.order)
        places = places_of(state.rooms, state.people, svc.schedule, {p.pid for p in peers}, now)
        rooms: dict[str, list[Peer]] = defaultdict(list)
        for peer in peers:
            peer.room = media.media_room(places[peer.pid])
            if peer.room is not None:
                rooms[peer.room].append(peer)
        # Pages whose handles are in another room (an agenda move, a new group) or on an
        # instance that no longer hosts it leave it: their camera is offered again.
        for peer in peers:
            await self._follow(peer)
        self.feeds = {}
        for room, members in rooms.items():
            link_url = state.media.links.get(room)
            joined = [p for p in members if p.want]
            feeds: list[Feed] = []
            if joined and not link_url:
                try:
                    link = await self._host(room)
                    data = await link.room(
                        {"request": "listparticipants", "room": self.janus_room(room)}
                    )
                    feeds = [f for f in map(feed_of, data.get("participants") or []) if f]
                except (JanusError, MediaError, TimeoutError) as e:
                    log.info("janus: room %s: %s", room, e)
                    if isinstance(e, JanusError) and e.code == NO_SUCH_ROOM:
                        for names in self._created.values():
                            names.discard(self.janus_room(room))
            self.feeds[room] = feeds
            await self._room(room, members, feeds, link_url)
        for peer in peers:
            if peer.room is None:
                self._send_state(peer, None, None, None, {})
        if self.rec is not None:
            await self.rec.finish_others(set(rooms), now)
        await self._tidy(places, now)

    async def _follow(self, peer: Peer) -> None:
        for attr in ("pub", "screen"):
            h: Handle | None = getattr(peer, attr)
            if h is None:
                continue
            stale = h.room != peer.room or h.epoch != h.link.epoch
            hosted = self.service.state.media.hosts.get(h.room)
            if stale or hosted != h.link.name:
                setattr(peer, attr, None)
                await h.link.detach(h.id)
                if attr == "pub" and peer.room is not None:
                    peer.send(json.dumps({"type": "media.republish"}))
                elif attr == "screen":
                    peer.send(
                        json.dumps(
                            {
                                "type": "media.screen.ended",
                                "message": "Screen sharing stopped: you moved room.",
                            }
                        )
                    )

    async def _room(
        self, room: str, members: list[Peer], feeds: list[Feed], link_url: str | None
    ) -> None:
        state = self.service.state
        cams = {f.pid: f for f in feeds if f.kind == "cam"}
        screens = [f for f in feeds if f.kind == "screen"]
        present: list[tuple[str, Role]] = []
        seen: set[str] = set()
        for pid in [*(p.pid for p in members), *cams]:
            person = state.people.get(pid)
            if pid not in seen and person is not None:
                seen.add(pid)
                present.append((pid, person.role))
        lay = media.layout(room, present, state.rooms, state.roleplays)
        order = [pid for pid in lay.order if pid in cams]
        by_id = {f.id: f for f in feeds}
        recording = None
        if self.rec is not None and self.recorder is not None and room.startswith("group:"):
            mine = {p.pid: (p.pub.link, p.pub.id) for p in members if p.pub is not None}
            await self.rec.update(room.removeprefix("group:"), mine, self.service.clock.now())
            recording = self.recorder.status(room)
        for viewer in members:
            if link_url:
                if viewer.pub or viewer.sub or viewer.screen:
                    await self._hang_up(viewer)
                self._send_state(viewer, room, lay, link_url, by_id, None)
                continue
            if viewer.want:
                shown = media.visible_of(order, viewer.pid, media.MAX_AUDIO)
                own = viewer.screen.feed if viewer.screen else ""
                wanted = [f.id for f in screens if f.id != own]
                wanted += [cams[pid].id for pid in shown]
                try:
                    await self._subscribe(viewer, room, wanted)
                    await self._layers(viewer, set(lay.stage), by_id)
                except (JanusError, MediaError, TimeoutError) as e:
                    log.info("janus: subscribing %s in %s: %s", viewer.pid, room, e)
            self._send_state(viewer, room, lay, None, by_id, recording)

    def _send_state(
        self,
        viewer: Peer,
        room: str | None,
        lay: media.Layout | None,
        link: str | None,
        by_id: dict[str, Feed],
        recording: str | None = None,
    ) -> None:
        """Tell `viewer` its room and the tiles of what its subscription carries (`by_id`: the
        room's feeds), if that changed."""
        people = self.service.state.people
        you = (
            bool(lay and viewer.pid in lay.stage),
            bool(lay and viewer.pid in lay.muted_on_join),
            viewer.pub is not None or (viewer.want == "watch"),
        )
        tiles = []
        sub = viewer.sub
        if sub is not None and not link:
            video_people = 0
            for mid, (fid, kind) in sorted(
                sub.mids.items(), key=lambda m: int(m[0]) if m[0].isdigit() else 0
            ):
                feed = by_id.get(fid)
                if feed is None:
                    continue
                if kind == "video" and feed.kind == "cam":
                    if sub.sent.get(mid, (0, True))[1] is False:
                        continue
                    video_people += 1
                    if video_people > media.MAX_VIDEO:
                        continue
                who = people.get(feed.pid)
                screen = feed.kind == "screen"
                name = who.name if who else feed.pid
                tiles.append(
                    {
                        "mid": mid,
                        "kind": kind,
                        "person": feed.pid + (":screen" if screen else ""),
                        "name": name + (" — shared screen" if screen else ""),
                        "role": ROLE_LABELS[who.role] if who else "",
                        "stage": screen or bool(lay and feed.pid in lay.stage),
                        "muted": {} if screen else {"audio": feed.muted[0], "video": feed.muted[1]},
                        "screen": screen,
                        "layer": sub.sent.get(mid, (LAYERS["high"], True))[0],
                    }
                )
        may_share = media.may_share_screen(viewer.role, viewer.pid, room, self.service.state.rooms)
        text = state_text(
            room,
            lay,
            link,
            you,
            tiles,
            recording,
            engine="janus",
            may_share=may_share is None,
            sharing=viewer.screen is not None,
            quality=viewer.quality,
        )
        if text != viewer.last_state:
            viewer.last_state = text
            viewer.send(text)

    async def _tidy(self, places: dict[str, Any], now: Any) -> None:
        """Destroy rooms nobody is placed in any more (after IDLE_ROOM seconds), judged from the
        course state every worker shares: everyone online, wherever their page is."""
        state = self.service.state
        online = [p.id for p in state.people.by_id.values() if p.online]
        everyone = places_of(state.rooms, state.people, self.service.schedule, online, now)
        used = {self.janus_room(r) for r in map(media.media_room, everyone.values()) if r}
        clock = time.monotonic()
        for name, created in self._created.items():
            link = self.link_named(name)
            for jr in list(created):
                if jr in used:
                    self._idle.pop(jr, None)
                    continue
                since = self._idle.setdefault(jr, clock)
                if clock - since < IDLE_ROOM or link is None or not link.alive:
                    continue
                room = jr.partition("/")[2]
                with contextlib.suppress(JanusError, TimeoutError):
                    await link.room(
                        {"request": "destroy", "room": jr, "secret": self._secret(room, "secret")}
                    )
                    log.info("janus: room %s destroyed on %s", room, name)
                created.discard(jr)
                self._idle.pop(jr, None)
