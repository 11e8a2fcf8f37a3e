"""Turn recordings: while a scene runs in a group that records, with everyone on the stage
consenting, each stage member's camera and microphone are written to a WebM file per segment
(a turn's stretch between time-outs). The relay's encoded packets are muxed as they are: nothing
is encoded again. A finished segment is recorded in the course log (`recording.saved`); deleting
one (by the director, or when the retention period ends) removes the file too.

Whether to record is `server.domain.media`'s decision; this module only writes files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.domain import media
from server.domain.errors import DomainError
from server.domain.events import Event
from server.domain.roles import MEDIA_ACTOR
from server.live.names import slug

if TYPE_CHECKING:  # PyAV and the relay are imported once something is recorded
    from server.media.relay import Publisher
    from server.service.course import CourseService

log = logging.getLogger("companion.media")
MS = Fraction(1, 1000)
EXPIRY_CHECK = 60.0  # seconds between retention checks


class Writer:
    """One person's picture and sound in one segment, as one WebM file."""

    def __init__(self, path: Path, video: Publisher | None, audio: Publisher | None) -> None:
        self.path = path
        self.video, self.audio = video, audio
        self.container: Any = None
        self.packet: Any = None  # PyAV's Packet, once the file is open
        self.streams: dict[str, Any] = {}
        self.t0 = 0.0
        self.last: dict[str, int] = {}
        self.packets = 0
        self.failed = False
        self._sinks = {"video": self._on_video, "audio": self._on_audio}
        for pub in (video, audio):
            if pub is not None:
                pub.add_sink(self._sinks[pub.kind])

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        import av  # (only once something is recorded)

        self.packet = av.Packet
        self.container = av.open(str(self.path), "w", format="webm")
        codec = self.video.encoder.codec if self.video else None
        if codec is not None:
            v = self.container.add_stream("libvpx", rate=15)
            v.width, v.height, v.pix_fmt = codec.width, codec.height, "yuv420p"
            self.streams["video"] = v
        if self.audio is not None:
            a = self.container.add_stream("libopus", rate=48000)
            a.layout = "stereo"
            extra = self.audio.encoder.codec.extradata
            if extra:
                a.codec_context.extradata = extra
            self.streams["audio"] = a
        self.t0 = time.monotonic()

    def _on_video(self, packet: Any) -> None:
        if self.container is None:
            if not packet.is_keyframe:
                return  # a file starts with a whole picture
            self._open()
        self._write("video", packet)

    def _on_audio(self, packet: Any) -> None:
        if self.container is not None or self.video is None:
            if self.container is None:
                self._open()
            self._write("audio", packet)

    def _write(self, kind: str, packet: Any) -> None:
        stream = self.streams.get(kind)
        if stream is None or self.failed:
            return
        # Timed by arrival: picture and sound stay in step, and a publisher that reconnects
        # mid-segment (its timestamps start over) does not break the file.
        pts = round((time.monotonic() - self.t0) * 1000)
        pts = max(pts, self.last.get(kind, -1) + 1)
        self.last[kind] = pts
        out = self.packet(bytes(packet))
        out.pts = out.dts = pts
        out.time_base = MS
        out.is_keyframe = packet.is_keyframe
        out.stream = stream
        try:
            self.container.mux(out)
            self.packets += 1
        except Exception as e:  # a full disk must not take the room's media down
            self.failed = True
            log.warning("recording %s stopped: %s", self.path, e)

    def close(self) -> int:
        """Finish the file; its size in bytes (0: nothing was written, and no file is left)."""
        for pub in (self.video, self.audio):
            if pub is not None:
                pub.remove_sink(self._sinks[pub.kind])
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.close()
        if self.packets == 0 or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return 0
        return self.path.stat().st_size


@dataclass
class Segment:
    group: str
    turn: int
    number: int
    started: datetime
    learner: str
    writers: dict[str, Writer] = field(default_factory=dict)  # by person


class Recorder:
    def __init__(self, service: CourseService, folder: Path, retention_days: float) -> None:
        self.service = service
        self.folder = folder
        self.retention_days = retention_days
        self.active: dict[str, Segment] = {}  # by group
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Remove files the log no longer refers to, delete files as the log deletes their
        recordings (whoever deleted them), and expire old recordings from now on."""
        swept = self.sweep()
        if swept:
            log.info("removed %d recording file(s) the course log does not list", swept)
        self.service.listeners.append(self._on_events)
        self._task = asyncio.create_task(self._expiry_loop(), name="recording-retention")

    async def stop(self) -> None:
        await self.close_all()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)

    def _on_events(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.type == "recording.deleted":
                self.remove(str(e.data["file"]))

    async def _expiry_loop(self) -> None:
        while True:
            try:
                await self.expire()
            except Exception:
                log.exception("recording retention check failed")
            await asyncio.sleep(EXPIRY_CHECK)

    def path(self, segment: Segment, person: str) -> Path:
        name = f"turn{segment.turn}-part{segment.number}-{person}-{int(time.time())}.webm"
        return self.folder / slug(segment.group) / name

    def status(self, room: str) -> str | None:
        """What the room's pages say about recording (None: nothing to say)."""
        if not room.startswith("group:"):
            return None
        group = room.removeprefix("group:")
        state = self.service.state
        if group not in state.media.recording_on:
            return None
        seg = self.active.get(group)
        if seg is not None:
            return f"● Recording turn {seg.turn}, part {seg.number}"
        rp = state.roleplays.of(group)
        why = media.recording_blocked(state.media, state.rooms, rp)
        return f"Recording is on for this group. {why}" if why else "Recording is on."

    async def update(
        self, group: str, publishing: Mapping[str, Mapping[str, Publisher]], now: datetime
    ) -> None:
        """Start, continue or finish `group`'s segment to match the course state (`publishing`:
        each person's publishers by kind)."""
        state = self.service.state
        rp = state.roleplays.of(group)
        key = media.segment_of(rp)
        if key is not None and media.recording_blocked(state.media, state.rooms, rp):
            key = None
        seg = self.active.get(group)
        if seg is not None and (key is None or (seg.turn, seg.number) != key):
            await self.finish(group, now)
            seg = None
        if key is None:
            return
        if seg is None:
            seg = self.active[group] = Segment(group, key[0], key[1], now, rp.hot_seat or "")
        for person in media.stage_of_turn(state.rooms, rp):
            theirs = publishing.get(person)
            if theirs is None or person in seg.writers:
                continue
            video, audio = theirs.get("video"), theirs.get("audio")
            if video is None and audio is None:
                continue
            seg.writers[person] = Writer(self.path(seg, person), video, audio)

    async def finish(self, group: str, now: datetime) -> None:
        seg = self.active.pop(group, None)
        if seg is None:
            return
        for person, writer in seg.writers.items():
            size = writer.close()
            if size:
                await self.save(seg, person, writer.path, size, now)

    async def save(self, seg: Segment, person: str, path: Path, size: int, now: datetime) -> None:
        """Log one finished file of `seg` (`recording.saved`); a file the log refuses goes."""
        rel = path.resolve().relative_to(self.folder.resolve()).as_posix()
        command = media.SaveRecording(
            seg.group, seg.turn, seg.number, person, rel, seg.started, now, size, seg.learner
        )
        try:
            await self.service.execute(command, MEDIA_ACTOR)
        except DomainError as e:
            log.warning("recording %s not logged (%s); removing the file", rel, e)
            path.unlink(missing_ok=True)
        except Exception:
            # The log cannot be written: keep the file, the next start's sweep decides.
            log.exception("recording %s not logged", rel)

    async def finish_others(self, rooms: set[str], now: datetime) -> None:
        """Finish segments of groups whose room nobody is in any more."""
        for group in list(self.active):
            if f"group:{group}" not in rooms:
                await self.finish(group, now)

    async def close_all(self) -> None:
        now = self.service.clock.now()
        for group in list(self.active):
            await self.finish(group, now)

    def file(self, rel: str) -> Path:
        """A recording's file, `rel` inside the recordings folder (never outside it)."""
        path = (self.folder / rel).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise DomainError("That recording's file is outside the recordings folder.")
        return path

    def remove(self, rel: str) -> None:
        with contextlib.suppress(DomainError):
            self.file(rel).unlink(missing_ok=True)

    async def expire(self) -> int:
        """Delete recordings past the retention period; returns how many."""
        state = self.service.state
        gone = 0
        for rid in media.expired(state.media, self.service.clock.now(), self.retention_days):
            try:  # the file goes when the event is applied (_on_events)
                await self.service.execute(media.DeleteRecording(rid, "expired"), MEDIA_ACTOR)
            except DomainError:
                continue
            gone += 1
        return gone

    def sweep(self) -> int:
        """Remove files no live recording refers to (left by a crash or an earlier deletion)."""
        if not self.folder.exists():
            return 0
        keep = {
            (self.folder / r.file).resolve() for r in self.service.state.media.recordings.values()
        }
        removed = 0
        for path in self.folder.rglob("*.webm"):
            if path.resolve() not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
