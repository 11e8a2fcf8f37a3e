"""The media server: one WebRTC connection per page, negotiated over the page's live WebSocket.

A page offers; its sending m-lines carry its camera and microphone, its receiving m-lines are
*slots*. The server answers, attaches a publisher to each slot it should see (see
`server.domain.media.layout`), and tells the page which person is in which slot. Moving people
between rooms, changing the stage, or someone leaving only re-attaches slots; a page is asked for
more slots (a new offer) only when it has too few.

Messages from a page: `media.offer {sdp}`, `media.mute {audio, video}`, `media.leave`.
To a page: `media.answer {sdp}`, `media.need {video, audio}`, `media.state {...}`,
`media.error {message}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc import sdp as aiosdp

from server.domain import media
from server.domain.placement import places_of
from server.domain.roles import ROLE_LABELS, Role
from server.live.hub import Message, Outgoing
from server.media.common import MAX_SDP, MediaError, RoomEngine, check_sdp, state_text
from server.media.ice import configure
from server.media.relay import Publisher, SlotTrack
from server.media.settings import IceSettings

if TYPE_CHECKING:
    from server.media.recording import Recorder
    from server.service.course import CourseService

log = logging.getLogger("companion.media")

MAX_SLOTS = 24  # per kind, per page
CODEC = {"video": "video/vp8", "audio": "audio/opus"}


@dataclass
class Slot:
    kind: str
    transceiver: RTCRtpTransceiver
    track: SlotTrack


@dataclass
class Peer:
    key: str  # the page's connection id
    pid: str
    role: Role
    send: Callable[[Outgoing], None]
    order: int
    pc: RTCPeerConnection | None = None
    publishers: dict[str, Publisher] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)  # by mid
    muted: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    room: str | None = None
    last_state: str = ""
    last_key: tuple[Any, ...] = ()
    asked: tuple[int, int] = (0, 0)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    screen_pc: RTCPeerConnection | None = None  # a shared screen, on a connection of its own
    screen: Publisher | None = None


class MediaHub(RoomEngine[Peer]):
    engine_name = "aiortc"
    peer_type = Peer
    # Who belongs where changes with the course's events (which wake the loop) and at the
    # agenda's boundaries (which it aims at); besides those, everyone is placed again this often.
    tick = 10.0

    def __init__(
        self,
        service: CourseService,
        ice: IceSettings | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(service)
        self.ice = ice or IceSettings()
        configure(self.ice)
        self.recorder = recorder

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._start_loop()

    async def stop(self) -> None:
        await self._stop_loop()
        if self.recorder:
            await self.recorder.close_all()
        for key in list(self.peers):
            await self.leave(key)

    # --- pages -------------------------------------------------------------------------------

    async def _hang_up(self, peer: Peer) -> None:
        self._cancel_tasks(peer)
        for pub in peer.publishers.values():
            await pub.close()
        for slot in peer.slots.values():
            slot.track.stop()
        peer.publishers.clear()
        peer.slots.clear()
        peer.asked = (0, 0)
        await self._stop_screen(peer)
        if peer.pc is not None:
            pc, peer.pc = peer.pc, None
            with contextlib.suppress(Exception):
                await pc.close()

    async def handle(self, key: str, msg: dict[str, Any]) -> None:
        """One media message from a page. Errors go back to that page as `media.error`."""
        peer = self.peers.get(key)
        if peer is None:
            return
        kind = msg.get("type")
        if kind == "media.offer":
            self._in_background(peer, self._offer(peer, msg.get("sdp")), kind)
            return
        if kind == "media.screen.offer":
            self._in_background(peer, self._screen_offer(peer, msg.get("sdp")), kind)
            return
        await self._guarded(peer, kind, self._other(peer, kind, msg))

    async def _other(self, peer: Peer, kind: Any, msg: dict[str, Any]) -> None:
        if kind == "media.mute":
            self._mute(peer, msg)
        elif kind == "media.screen.stop":
            await self._stop_screen(peer)
            self._wake.set()
        elif kind == "media.leave":
            async with peer.lock:
                await self._hang_up(peer)
            self._wake.set()
        else:
            raise MediaError(f"Unknown media message {kind!r}.")

    def _mute(self, peer: Peer, msg: dict[str, Any]) -> None:
        for kind in ("audio", "video"):
            value = msg.get(kind)
            if value is None:
                continue
            if not isinstance(value, bool):
                raise MediaError(f"media.mute: {kind} must be true or false.")
            peer.muted[kind] = value
            if kind in peer.publishers:
                peer.publishers[kind].paused = value
        self._wake.set()

    async def _offer(self, peer: Peer, sdp: Any) -> None:
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise MediaError("media.offer needs the page's SDP offer.")
        if len(sdp) > MAX_SDP:
            raise MediaError(f"SDP offer too large ({len(sdp)} characters).")
        try:
            parsed = aiosdp.SessionDescription.parse(sdp)
        except Exception as e:
            raise MediaError(f"SDP offer could not be read: {e}") from None
        async with peer.lock:
            if peer.pc is None:
                peer.pc = self._new_pc(peer)
            pc = peer.pc
            known = {t.mid for t in pc.getTransceivers()}
            new = [m for m in parsed.media if m.kind in CODEC and m.rtp.muxId not in known]
            if not any(m.kind in CODEC for m in parsed.media):
                raise MediaError("The SDP offer has no audio or video.")
            counts: dict[str, int] = defaultdict(int)
            for m in parsed.media:
                if m.kind in CODEC and m.direction == "recvonly":
                    counts[m.kind] += 1
            if max(counts.values(), default=0) > MAX_SLOTS:
                raise MediaError(f"At most {MAX_SLOTS} receiving slots of each kind.")
            # Transceivers made here, in m-line order, are matched to the new m-lines.
            for m in new:
                if m.direction == "recvonly":
                    track = SlotTrack(m.kind)
                    t = pc.addTransceiver(track, direction="sendonly")
                    caps = RTCRtpSender.getCapabilities(m.kind).codecs
                    t.setCodecPreferences(
                        [c for c in caps if c.mimeType.lower() in (CODEC[m.kind], "video/rtx")]
                    )
                    track.watch(t.sender)
                    peer.slots[m.rtp.muxId] = Slot(m.kind, t, track)
                else:
                    pc.addTransceiver(m.kind, direction="recvonly")
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                answer = await pc.createAnswer()
                await pc.setLocalDescription(answer)
            except Exception as e:
                log.info("offer from %s refused: %s", peer.pid, e)
                await self._hang_up(peer)
                raise MediaError(f"The connection could not be set up: {e}") from None
            peer.send(json.dumps({"type": "media.answer", "sdp": pc.localDescription.sdp}))
            peer.last_state, peer.last_key = "", ()  # slots changed: send the state again
        self._wake.set()

    async def _screen_offer(self, peer: Peer, sdp: Any) -> None:
        """A shared screen: received on its own connection, encoded once like a camera and
        shown large to everyone in the room."""
        text = check_sdp(sdp, "media.screen.offer")
        svc = self.service
        place = places_of(
            svc.state.rooms, svc.state.people, svc.schedule, [peer.pid], svc.clock.now()
        )[peer.pid]
        why = media.may_share_screen(peer.role, peer.pid, media.media_room(place), svc.state.rooms)
        if why:
            raise MediaError(why)
        await self._stop_screen(peer)
        pc = peer.screen_pc = RTCPeerConnection(self.ice.configuration())

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video" and peer.screen_pc is pc:
                peer.screen = Publisher(f"{peer.pid}:screen", track)

                async def ended() -> None:
                    if peer.screen_pc is pc:
                        await self._stop_screen(peer)
                        peer.send(json.dumps({"type": "media.screen.ended"}))
                        self._wake.set()

                track.on("ended", ended)
                self._wake.set()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:
            await self._stop_screen(peer)
            raise MediaError(f"Screen sharing could not be set up: {e}") from None
        peer.send(json.dumps({"type": "media.screen.answer", "sdp": pc.localDescription.sdp}))
        peer.last_state, peer.last_key = "", ()

    async def _stop_screen(self, peer: Peer) -> None:
        screen, pc = peer.screen, peer.screen_pc
        peer.screen = peer.screen_pc = None
        if screen is not None:
            await screen.close()
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    def _new_pc(self, peer: Peer) -> RTCPeerConnection:
        pc = RTCPeerConnection(self.ice.configuration())

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind in CODEC:
                old = peer.publishers.get(track.kind)
                pub = Publisher(peer.pid, track)
                pub.paused = peer.muted[track.kind]
                peer.publishers[track.kind] = pub
                if old is not None:
                    closing = asyncio.ensure_future(old.close())
                    peer.tasks.add(closing)
                    closing.add_done_callback(peer.tasks.discard)
                self._wake.set()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed" and peer.pc is pc:
                await self._hang_up(peer)
                peer.send(
                    json.dumps(
                        {
                            "type": "media.error",
                            "message": "The audio/video connection failed; trying again.",
                            "retry": True,
                        }
                    )
                )
                self._wake.set()

        return pc

    # --- who sees whom -----------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Put every page in its room, attach its slots to the right publishers, record what
        should be recorded, and tell each page what changed."""
        svc = self.service
        state, now = svc.state, svc.clock.now()
        rooms: dict[str, list[Peer]] = defaultdict(list)
        shared: dict[tuple[Any, ...], Message] = {}  # see _send_state
        peers = sorted(self.peers.values(), key=lambda p: p.order)
        places = places_of(state.rooms, state.people, svc.schedule, {p.pid for p in peers}, now)
        for peer in peers:
            peer.room = media.media_room(places[peer.pid])
            if peer.room is not None:
                rooms[peer.room].append(peer)
            else:
                self._detach_all(peer)
        for room, members in rooms.items():
            # The latest page of each person publishes for them.
            source: dict[str, Peer] = {}
            for peer in members:
                if peer.publishers or peer.pid not in source:
                    source[peer.pid] = peer
            present = [(pid, p.role) for pid, p in source.items()]
            lay = media.layout(room, present, state.rooms, state.roleplays)
            link = state.media.links.get(room)
            # Only people who publish can be seen or heard: in a plenary of hundreds that is a
            # few, so each viewer's choice below costs little however many are watching.
            order = lay.order
            cams = [pid for pid in order if "video" in source[pid].publishers]
            mics = [pid for pid in order if "audio" in source[pid].publishers]
            for viewer in members:
                if link:
                    self._detach_all(viewer)
                    continue
                if not viewer.slots:
                    continue  # not joined: nothing to attach
                video = media.visible_of(cams, viewer.pid, media.MAX_VIDEO)
                audio = media.visible_of(mics, viewer.pid, media.MAX_AUDIO)
                # Shared screens first (large), then the cameras the viewer should see.
                videos = {
                    p.screen.owner: p.screen
                    for p in members
                    if p.screen is not None and p.pid != viewer.pid
                }
                videos.update({pid: source[pid].publishers["video"] for pid in video})
                sounds = {pid: source[pid].publishers["audio"] for pid in audio}
                short_v = self._assign(viewer, "video", videos)
                short_a = self._assign(viewer, "audio", sounds)
                # A page in the middle of a negotiation is asked once its answer is out.
                if (short_v or short_a) and viewer.pc is not None and not viewer.lock.locked():
                    want = (
                        self._count(viewer, "video") + short_v,
                        self._count(viewer, "audio") + short_a,
                    )
                    if want != viewer.asked:
                        viewer.asked = want
                        viewer.send(
                            json.dumps({"type": "media.need", "video": want[0], "audio": want[1]})
                        )
            recording = None
            if self.recorder is not None and room.startswith("group:"):
                publishing = {pid: peer.publishers for pid, peer in source.items()}
                await self.recorder.update(room.removeprefix("group:"), publishing, now)
                recording = self.recorder.status(room)
            for viewer in members:
                self._send_state(viewer, room, lay, link, source, recording, shared)
        for peer in self.peers.values():
            if peer.room is None:
                self._send_state(peer, None, None, None, {}, None, shared)
        if self.recorder is not None:
            await self.recorder.finish_others(set(rooms), now)

    @staticmethod
    def _count(peer: Peer, kind: str) -> int:
        return sum(1 for s in peer.slots.values() if s.kind == kind)

    @staticmethod
    def _detach_all(peer: Peer) -> None:
        for slot in peer.slots.values():
            slot.track.detach()

    @staticmethod
    def _assign(viewer: Peer, kind: str, pubs: dict[str, Publisher]) -> int:
        """Attach the publishers `pubs` (by owner, in order) to `viewer`'s slots of `kind`,
        keeping slots that already show the right one. Returns how many slots are missing."""
        slots = [s for s in viewer.slots.values() if s.kind == kind]
        shown: set[str] = set()
        for s in slots:
            src = s.track.source
            if src is None:
                continue
            if src.owner in pubs and pubs[src.owner] is src and src.owner not in shown:
                shown.add(src.owner)
            else:
                s.track.detach()
        free = [s for s in slots if s.track.source is None]
        short = 0
        for pid in pubs:
            if pid in shown:
                continue
            if free:
                free.pop(0).track.attach(pubs[pid])
            else:
                short += 1
        return short

    def _send_state(
        self,
        viewer: Peer,
        room: str | None,
        lay: media.Layout | None,
        link: str | None,
        source: dict[str, Peer],
        recording: str | None,
        shared: dict[tuple[Any, ...], Message],
    ) -> None:
        """Tell `viewer` its room and what it shows, if that changed. Pages that have not
        joined the room's call are sent one message per state (`shared`, kept for one pass):
        at a boundary thousands of them move together."""
        you = (
            bool(lay and viewer.pid in lay.stage),
            bool(lay and viewer.pid in lay.muted_on_join),
            viewer.pc is not None,
        )
        rooms = self.service.state.rooms
        share = {
            "may_share": media.may_share_screen(viewer.role, viewer.pid, room, rooms) is None,
            "sharing": viewer.screen is not None,
        }
        if not viewer.slots:
            # Most pages in a large room have not joined: a cheap check spares the message.
            key = (room, link, lay.label if lay else "", you, recording, share["may_share"])
            if key == viewer.last_key:
                return
            viewer.last_key = key
            message = shared.get(key)
            if message is None:
                text = state_text(room, lay, link, you, [], recording, **share)
                message = shared[key] = Message(text)
            if message.text != viewer.last_state:
                viewer.last_state = message.text
                viewer.send(message)
            return
        people = self.service.state.people
        tiles = []
        for mid, slot in viewer.slots.items():
            src = slot.track.source
            if src is None:
                continue
            pid, _, what = src.owner.partition(":")
            screen = what == "screen"
            who = people.get(pid)
            owner = source.get(pid)
            name = who.name if who else pid
            tiles.append(
                {
                    "mid": mid,
                    "kind": slot.kind,
                    "person": src.owner,
                    "name": name + (" — shared screen" if screen else ""),
                    "role": ROLE_LABELS[who.role] if who else "",
                    "stage": screen or bool(lay and pid in lay.stage),
                    "muted": dict(owner.muted) if owner and not screen else {},
                    "screen": screen,
                }
            )
        text = state_text(room, lay, link, you, tiles, recording, **share)
        if text != viewer.last_state:
            viewer.last_state = text
            viewer.send(text)
