"""Turn recordings on Janus: the same rules as the embedded engine (a running scene, recording
on for the group, everyone on the stage consenting; a file per person per segment, split at each
time-out), the files written by Janus itself.

When a segment starts, each stage member's publisher (on this worker) is told to record into the
room's `rec_dir` (the recordings folder's `.janus` subfolder: Janus must see the recordings
folder at the same path, on the same host or a shared volume). When it ends, recording stops,
`janus-pp-rec` turns each stream's `.mjr` into a file of its own, the picture and sound are put
into one WebM without encoding them again, and the segment is logged (`recording.saved`) like
the embedded engine's, so replay, deletion, retention and erasure are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from server.domain import media
from server.media.recording import Segment

if TYPE_CHECKING:
    from server.media.janus_link import JanusLink
    from server.media.recording import Recorder

log = logging.getLogger("companion.media.janus")
CONVERT_LIMIT = 120.0  # seconds for one segment's conversion


@dataclass
class Taping:
    link: JanusLink
    handle: int
    base: str  # the file name Janus was given (no folder, no suffix)


@dataclass
class JanusSegment:
    segment: Segment
    tapes: dict[str, Taping] = field(default_factory=dict)  # by person


def remux(video: Path | None, audio: Path | None, out: Path) -> int:
    """Picture and sound into one WebM, packets copied as they are; the file's size."""
    inputs = [av.open(str(p)) for p in (video, audio) if p is not None]
    try:
        with av.open(str(out), "w", format="webm") as container:
            pairs = []
            for inp in inputs:
                src = inp.streams[0]
                pairs.append((inp, src, container.add_stream_from_template(src)))
            for inp, src, dst in pairs:
                for packet in inp.demux(src):
                    if packet.dts is None:
                        continue
                    packet.stream = dst
                    container.mux(packet)
    finally:
        for inp in inputs:
            inp.close()
    return out.stat().st_size if out.exists() else 0


def convert(raw: Path, base: str, out: Path) -> int:
    """`base`'s .mjr files (one per stream) into `out`; 0 when there was nothing to convert."""
    mjrs = sorted(raw.glob(f"{base}*.mjr"))
    video = next((p for p in mjrs if "-video-" in p.name), None)
    audio = next((p for p in mjrs if "-audio-" in p.name), None)
    parts: dict[str, Path] = {}
    try:
        for kind, mjr, suffix in (("video", video, ".webm"), ("audio", audio, ".opus")):
            if mjr is None:
                continue
            target = raw / f"{base}.{kind}{suffix}"
            r = subprocess.run(
                ["janus-pp-rec", str(mjr), str(target)],
                capture_output=True,
                text=True,
                timeout=CONVERT_LIMIT,
            )
            if r.returncode == 0 and target.exists() and target.stat().st_size > 0:
                parts[kind] = target
            else:
                log.warning("janus-pp-rec %s: %s", mjr.name, (r.stderr or r.stdout)[-300:])
        if not parts:
            return 0
        out.parent.mkdir(parents=True, exist_ok=True)
        return remux(parts.get("video"), parts.get("audio"), out)
    finally:
        for p in [*mjrs, *parts.values()]:
            p.unlink(missing_ok=True)


class JanusRecorder:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.raw = recorder.folder.resolve() / ".janus"
        self.segments: dict[str, JanusSegment] = {}  # by group
        self.available = shutil.which("janus-pp-rec") is not None
        self._saving: set[asyncio.Task[None]] = set()

    async def update(
        self, group: str, publishers: dict[str, tuple[JanusLink, int]], now: datetime
    ) -> None:
        """Start, continue or finish `group`'s segment to match the course state
        (`publishers`: each person's camera handle on this worker)."""
        if not self.available:
            return
        state = self.recorder.service.state
        rp = state.roleplays.of(group)
        key = media.segment_of(rp)
        if key is not None and media.recording_blocked(state.media, state.rooms, rp):
            key = None
        seg = self.segments.get(group)
        if seg is not None and (key is None or (seg.segment.turn, seg.segment.number) != key):
            await self.finish(group, now)
            seg = None
        if key is None:
            return
        if seg is None:
            seg = JanusSegment(Segment(group, key[0], key[1], now, rp.hot_seat or ""))
            self.segments[group] = seg
            self.recorder.active[group] = seg.segment  # the pages' "● Recording" line
        for person in media.stage_of_turn(state.rooms, rp):
            if person in seg.tapes or person not in publishers:
                continue
            link, handle = publishers[person]
            base = self.recorder.path(seg.segment, person).stem
            self.raw.mkdir(parents=True, exist_ok=True)
            try:
                await link.message(
                    handle, {"request": "configure", "record": True, "filename": base}
                )
            except Exception as e:
                log.warning("janus: recording %s in %s did not start: %s", person, group, e)
                continue
            seg.tapes[person] = Taping(link, handle, base)
            self._spawn(self._keyframes(link, handle))

    async def _keyframes(self, link: JanusLink, handle: int) -> None:
        """Ask again for a whole picture: Janus's recorder writes video from a keyframe on, and
        a request made while the camera has just sent one can go unanswered."""
        for wait in (0.3, 0.3, 0.4, 0.5, 0.5):
            await asyncio.sleep(wait)
            with contextlib.suppress(Exception):
                await link.message(handle, {"request": "configure", "keyframe": True})

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def finish(self, group: str, now: datetime) -> None:
        """Stop recording `group`'s segment; its files are converted and logged in the
        background (a conversion takes a second or more: the rooms' placing must not wait)."""
        seg = self.segments.pop(group, None)
        if self.recorder.active.get(group) is (seg.segment if seg else None):
            self.recorder.active.pop(group, None)
        if seg is None:
            return
        for tape in seg.tapes.values():
            with contextlib.suppress(Exception):
                await tape.link.message(tape.handle, {"request": "configure", "record": False})
        self._spawn(self._save(seg, now))

    async def _settled(self, bases: list[str], limit: float = 10.0) -> None:
        """Wait until Janus has written out and closed the segment's files: it stops recording
        after answering, and flushes each file as it closes it, so sizes settle a moment later."""
        last: dict[Path, int] = {}
        deadline = asyncio.get_running_loop().time() + limit
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.4)
            sizes = {p: p.stat().st_size for b in bases for p in self.raw.glob(f"{b}*.mjr")}
            if sizes and sizes == last:
                return
            last = sizes

    async def _save(self, seg: JanusSegment, now: datetime) -> None:
        await self._settled([t.base for t in seg.tapes.values()])
        s = seg.segment
        for person, tape in seg.tapes.items():
            out = self.recorder.path(s, person).with_name(f"{tape.base}.webm")
            try:
                size = await asyncio.to_thread(convert, self.raw, tape.base, out)
            except Exception:
                log.exception("janus: converting %s failed", tape.base)
                continue
            if size == 0:
                out.unlink(missing_ok=True)
                continue
            await self.recorder.save(s, person, out, size, now)

    async def finish_others(self, rooms: set[str], now: datetime) -> None:
        for group in list(self.segments):
            if f"group:{group}" not in rooms:
                await self.finish(group, now)

    async def close_all(self, now: datetime) -> None:
        for group in list(self.segments):
            await self.finish(group, now)
        if self._saving:
            await asyncio.wait(list(self._saving), timeout=CONVERT_LIMIT)
