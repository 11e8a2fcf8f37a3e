"""The whole course rehearsed at full size, with faults, checked from the harness's own records.

    uv run python -m bench.rehearsal          # three days, both deployments (docs/rehearsal.md)
    uv run python -m bench.rehearsal --quick    # Day 2 for a smaller course (the test suite)

A roster made by a generator with a seed (the course's mix of professions and tracks, a
facilitator and an SP actor for each small group) is imported, `companion serve` runs on a
rehearsal clock at high speed, and every person is played by a simulated participant that uses
the product only as a browser does: a WebSocket page per open tab and the same form posts, over
real sockets. People join late, drop and come back, reload, take turns in the hot seat, call
time-outs, give feedback, write reflections, chat and ask questions, evaluate each day and the
course, and claim their credit; the director moves people between groups.

Faults are injected on a schedule: SIGKILL of the server (one process on SQLite) or of a worker
(two workers on one Redis) in the middle of a practice block, a Redis restart, a tenth of the
sockets dropped at once, a page that stops reading, and a moment of full disk.

The harness keeps its own record of what it did: when each page was open, every write the server
acknowledged (each with its submission id), the turns it ran. At the end it checks the server's
log and reports against that record: every acknowledged write stored exactly once; each person's
minutes per item and each credit type equal to what the harness's own presence record gives
under the published rules (docs/decisions.md: a gap of two minutes or less counts as present;
minutes count in the items that carry a type; a gap within the clocks' precision of that limit
may count either way); sampled pages of every role (kept as the browser keeps them, partial by
partial) showing what a fresh load of the same page shows, after every boundary and every move
(each partial meeting its fresh self within a few seconds, as the course moves on meanwhile, or
else at a quiet moment, when everyone holds their next action);
every role-play closed as the agenda closes it; nobody online once everyone has left; no server
error beyond the injected faults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import websockets

from bench.fanout import (
    SECRET,
    free_port,
    import_roster,
    percentile,
    rss_kib,
    serve_cmd,
    wait_http,
)
from server.access.links import Signer
from server.content.cases import load_library
from server.content.course import load_course
from server.content.instruments import evaluation_form, form_for, load_evaluations, load_instruments
from server.domain.agenda import Kind, ScheduledItem, build_schedule, utc_z
from server.domain.attendance import RECONNECT_GRACE, merged_spells, minutes_per_item
from server.domain.credit import Facts, claim_refused
from server.domain.evaluations import COURSE_EVALUATION, evaluation_keys, evaluation_opens
from server.domain.feedback import SELF_RATING
from server.domain.people import Discipline
from server.domain.roles import Role
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
COURSE = load_course()
SCHEDULE = build_schedule(COURSE)
LIBRARY = load_library()
INSTRUMENTS = load_instruments()
EVALUATIONS = load_evaluations(course=COURSE)
TICK = 0.2  # wall seconds between the harness's steps
SETTLE = 1.0  # wall seconds for the server to push what the last posts changed (a presence
#   view waits half a second, audiences.PRESENCE_EVERY; another worker hears it a moment later)
# The seed's mix (the course page: physicians, nurses and APPs, social workers, chaplains,
# pharmacists, psychologists, trainees), as weights, with each profession's usual degree.
MIX = (
    (Discipline.PHYSICIAN, 30, "MD"),
    (Discipline.NURSE, 20, "RN"),
    (Discipline.NURSE_PRACTITIONER, 12, "APRN"),
    (Discipline.SOCIAL_WORKER, 12, "LICSW"),
    (Discipline.CHAPLAIN, 7, "MDiv"),
    (Discipline.PHARMACIST, 6, "PharmD"),
    (Discipline.PHYSICIAN_ASSISTANT, 5, "PA-C"),
    (Discipline.PSYCHOLOGIST, 3, "PhD"),
    (Discipline.RESIDENT_FELLOW, 5, "MD"),
)
FIRST = (
    "Alex", "Sam", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Avery", "Quinn",
    "Rowan", "Emerson", "Harper", "Kai", "Noa", "Ira", "Lee", "Remy", "Sasha", "Toni", "Dara",
    "Eli", "Mina", "Omar", "Priya", "Wen", "Yara", "Zoe", "Ana", "Ben",
)  # fmt: skip
LAST = (
    "Abara", "Bello", "Chen", "de la Cruz", "Diallo", "Evans", "Fischer", "García", "Haddad",
    "Ito", "Jensen", "Kowalski", "Lindqvist", "Mensah", "Nakamura", "O'Brien", "Patel", "Quispe",
    "Rossi", "Silva", "Tanaka", "Uddin", "van Dijk", "Wójcik", "Xu", "Yilmaz", "Zhou",
)  # fmt: skip
CHAT = (
    "Can everyone hear me?",
    "Thank you, that was helpful.",
    "Could you say that again?",
    "Back again, my connection dropped.",
    "That is what happens on our unit too.",
)
QUESTION = (
    "How do you start an opioid in kidney failure?",
    "What do you say when a family asks for everything?",
    "How do you involve a child who is old enough to understand?",
)


# --- the course's people ------------------------------------------------------------------------


@dataclass
class Who:
    id: str
    email: str
    role: Role
    discipline: str
    track: str
    degree: str
    board_ids: dict[str, str]
    dob: bool
    cookie: str = ""


def make_roster(rng: random.Random, learners: int, folder: Path) -> Path:
    """A registration list for `learners` learners in the seed's mix (a third pediatric), a
    facilitator and an SP actor for about every seven learners, and a director. Physicians carry
    their board's ID and birth month and day; pharmacists their NABP e-Profile ID."""
    groups = max(2, round(learners / 7.2))
    cols = (
        "name,email,role,discipline,track,degree,abim_id,abp_id,nabp_id,dob_mmdd,"
        "first_name,last_name"
    )
    rows = [
        cols,
        "Dana Director,director@rehearsal.example,director,physician,both,MD,,,,,Dana,Director",
    ]
    for i in range(groups):
        track = "pediatric" if i % 3 == 2 else "adult"
        rows.append(f"Fac {i},f{i}@rehearsal.example,facilitator,physician,{track},MD,,,,,Fac,{i}")
        rows.append(f"Actor {i},sp{i}@rehearsal.example,sp,other,{track},,,,,,Actor,{i}")
    weights = [w for _, w, _ in MIX]
    for i in range(learners):
        disc, _, degree = rng.choices(MIX, weights)[0]
        track = "pediatric" if rng.random() < 0.33 else "adult"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        abim = abp = nabp = dob = ""
        if disc in (Discipline.PHYSICIAN, Discipline.RESIDENT_FELLOW) and rng.random() < 0.8:
            dob = f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if track == "adult":
                abim = f"{rng.randint(100000, 999999)}"
            else:
                abp = f"{rng.randint(1000, 99999999)}"
        if disc is Discipline.PHARMACIST:
            nabp, dob = f"{rng.randint(100000, 9999999)}", f"{rng.randint(1, 12):02d}-15"
        name = f"{first} {last}"
        rows.append(
            f'"{name}",l{i}@rehearsal.example,learner,{disc.value},{track},{degree},'
            f'{abim},{abp},{nabp},{dob},{first},"{last}"'
        )
    path = folder / "roster.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def read_people(roster: Path, ids: dict[str, str], signer: Signer) -> dict[str, Who]:
    out = {}
    with roster.open() as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        pid = ids[row["email"]]
        boards = {k: row[k] for k in ("abim_id", "abp_id", "nabp_id") if row.get(k)}
        out[pid] = Who(
            pid,
            row["email"],
            Role(row["role"]),
            row["discipline"],
            row["track"],
            row["degree"],
            boards,
            bool(row["dob_mmdd"]),
            signer.session_value(pid),
        )
    return out


# --- the deployments ----------------------------------------------------------------------------


class Deployment:
    """`companion serve` on a free port, started, killed and restarted by the harness."""

    name = ""
    serving = 1  # processes that hold the course

    def __init__(self, folder: Path, speed: float, start: datetime) -> None:
        self.folder = folder
        self.speed = speed
        self.start_at = start
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.store = ""
        # Workers beat at the real heartbeat's pace in course time (5 s at 30x or slower), so
        # that a stopped worker's pages are closed as soon, in course time, as on the day.
        self.heartbeat = 5.0 * min(1.0, 30.0 / speed)
        self.env = {
            **os.environ,
            "COMPANION_SECRET": SECRET,
            "COMPANION_NO_MEDIA": "1",
            "COMPANION_HEARTBEAT": f"{self.heartbeat:g}",
        }

    def command(self) -> list[str]:
        start = self.start_at.isoformat()
        return serve_cmd(self.port, self.store, start, "--speed", f"{self.speed:g}", "--no-media")

    def launch(self) -> float:
        """Start the server; the wall seconds until /healthz answered."""
        log = self.folder / f"server-{len(self.logs)}.log"
        self.logs.append(log)
        t0 = time.monotonic()
        with log.open("wb") as out:  # the process keeps its own copy of the file
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_http(self.base, 60)
        return time.monotonic() - t0

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            return [self.proc.pid, *map(int, kids.read_text().split())]
        return [self.proc.pid]

    def rss_mib(self) -> float:
        return sum(rss_kib(p) for p in self.pids() if Path(f"/proc/{p}").exists()) / 1024

    def kill(self) -> str:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return "SIGKILL of the server"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def log_bytes(self) -> int:
        return 0


class OneProcess(Deployment):
    """One process on SQLite, its log on a small filesystem of its own (so that the disk can be
    filled for a moment)."""

    name = "one process on SQLite"

    def __init__(self, folder: Path, speed: float, start: datetime) -> None:
        super().__init__(folder, speed, start)
        self.data = folder / "disk"
        self.data.mkdir()
        self.mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(self.data)],
                capture_output=True,
            ).returncode
            == 0
        )
        self.db = self.data / "course.db"
        self.store = f"sqlite:///{self.db}"

    def restart_after_kill(self) -> float:
        return self.launch()

    def fill_disk(self) -> Path | None:
        """Fill the log's filesystem; the filler's path (None: no filesystem of its own)."""
        if not self.mounted:
            return None
        filler = self.data / "filler"
        with filler.open("wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        return filler

    def log_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data.glob("course.db*"))

    def close(self) -> None:
        self.stop()
        if os.environ.get("REHEARSAL_KEEP"):
            for f in self.data.glob("course.db*"):
                shutil.copy(f, self.folder / f.name)
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.data)], check=False)


class TwoWorkers(Deployment):
    """Two workers on one port, sharing the course through one Redis server."""

    name = "two workers on one Redis"
    serving = 2

    def __init__(self, folder: Path, speed: float, start: datetime) -> None:
        super().__init__(folder, speed, start)
        self.redis = RedisServer(folder / "redis")
        self.redis.start()
        self.store = self.redis.url

    def command(self) -> list[str]:
        return [*super().command(), "--workers", "2"]

    def workers(self) -> list[int]:
        """The worker processes (the supervisor's other child tracks shared resources)."""
        out = []
        for pid in self.pids()[1:]:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(pid)
        return out

    def kill(self) -> str:
        self.killed = self.workers()[0]
        os.kill(self.killed, signal.SIGKILL)  # the supervisor starts another
        return "SIGKILL of one worker"

    def restart_after_kill(self) -> float:
        """Seconds until the supervisor has a second worker answering again."""
        t0 = time.monotonic()
        deadline = t0 + 60
        while time.monotonic() < deadline:
            fresh = [p for p in self.workers() if p != self.killed]
            if len(fresh) >= 2:
                break
            time.sleep(0.05)
        wait_http(self.base, 30)
        return time.monotonic() - t0

    def log_bytes(self) -> int:
        return sum(
            p.stat().st_size for p in (self.folder / "redis").glob("**/*.aof*") if p.is_file()
        )

    def close(self) -> None:
        self.stop()
        self.redis.stop()


# --- the harness's own record -------------------------------------------------------------------


@dataclass
class Record:
    """What the harness saw and did, in course time (UTC) where it says so."""

    spells: dict[str, list[list[datetime | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # sid -> (kind, person)
    refused: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    retried: int = 0
    posts: int = 0
    turns: dict[str, int] = field(default_factory=Counter)  # learner -> turns taken
    assessed: set[str] = field(default_factory=set)  # learners whose feedback was released
    evaluated: set[str] = field(default_factory=set)
    claims: dict[tuple[str, str], float] = field(default_factory=dict)
    faults: list[tuple[str, str, float]] = field(default_factory=list)  # (what, when, seconds)
    # the server away: killed, started again, answering again
    windows: list[tuple[datetime, datetime, datetime, bool]] = field(default_factory=list)
    minute_diffs: list[float] = field(default_factory=list)
    evaluations: Counter[str] = field(default_factory=Counter)
    slow_posts: list[str] = field(default_factory=list)
    lost: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    # (began, failed) of each try to open a page that failed: the server may have accepted the
    # socket and counted it until it saw it close
    tries: dict[str, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    done_unanswered: list[str] = field(default_factory=list)  # see Harness._post
    # a worker killed, and the wall seconds within which the others close its pages
    worker_kills: list[tuple[datetime, float]] = field(default_factory=list)
    samples: int = 0  # sampled pages compared with a fresh load
    hushed: list[str] = field(default_factory=list)  # compared again at a quiet moment
    hushed_s: float = 0.0  # wall seconds the people held their actions for them
    stale: list[str] = field(default_factory=list)
    # (person, spell edge) -> wall seconds within which the server stamped it
    brackets: dict[tuple[str, datetime], float] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)  # retried: 0 = no answer
    boundary_ms: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (day, item) -> pages open at the item's boundary that had not shown it 10 s later
    missed: Counter[tuple[int, str]] = field(default_factory=Counter)
    rss: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    log_bytes: dict[int, int] = field(default_factory=dict)
    reconnects: int = 0
    reloads: int = 0
    drops: int = 0
    opened: int = 0


class Harness:
    def __init__(
        self, deploy: Deployment, people: dict[str, Who], rng: random.Random, days: list[int]
    ) -> None:
        self.d = deploy
        self.people = people
        self.rng = rng
        self.days = days
        self.rec = Record()
        self.offset = 0.0  # course epoch seconds minus speed * wall seconds
        self.pages: dict[str, set[Page]] = defaultdict(set)
        self.want: dict[str, bool] = {}  # person -> should be online now
        self.back_at: dict[str, datetime] = {}
        self.groups: dict[str, Group] = {}
        self.director = next(p for p in people.values() if p.role is Role.DIRECTOR)
        self.tasks: set[asyncio.Task[Any]] = set()  # posts on their way
        self.page_tasks: set[asyncio.Task[Any]] = set()
        self.slow: Page | None = None
        self.sampled: list[str] = []
        self.fresh_from: int | None = None  # the worker that served the last fresh load
        self.acting = asyncio.Event()  # set: people act; clear: they hold (see `hush`)
        self.acting.set()
        self.hushing = 0
        self.in_flight = 0  # posts on their way
        self.chat_sids = 0

    # clock -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.offset + self.d.speed * time.time(), UTC)

    def wall_of(self, at: datetime) -> float:
        return (at.timestamp() - self.offset) / self.d.speed

    async def calibrate(self) -> float:
        """The course clock against this machine's, from the quickest of seven round trips;
        returns how far (course seconds) the model was off before."""
        best = (float("inf"), 0.0)
        for _ in range(7):
            t0 = time.time()
            status, body = await self.get("/healthz", None)
            t1 = time.time()
            if status == 200:
                best = min(
                    best, (t1 - t0, json.loads(body)["now_epoch"] - self.d.speed * (t0 + t1) / 2)
                )
        before, self.offset = self.offset, best[1]
        return abs(best[1] - before)

    # http ------------------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, cookie: str | None, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(form or {}).encode()
        head = [
            f"{method} {urllib.parse.quote(path, safe='/?=&.-_')} HTTP/1.1",
            f"Host: 127.0.0.1:{self.d.port}",
            "Connection: close",
        ]
        if cookie:
            head.append(f"Cookie: companion_session={cookie}")
        if method == "POST":
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                "Origin: " + self.d.base,
            ]
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.d.port), 5
        )
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            raw = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        status_line, _, rest = raw.partition(b"\r\n")
        if not status_line:
            raise ConnectionError("no answer")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")

    async def get(self, path: str, who: Who | None) -> tuple[int, str]:
        try:
            return await self.request("GET", path, who.cookie if who else None)
        except (OSError, TimeoutError, ConnectionError):
            return 0, ""

    async def post(self, who: Who, path: str, kind: str, form: dict[str, str]) -> int:
        """A form post as the page sends it: retried with the same submission id while the
        server is away or refuses for a moment (503), as the page's durable form does."""
        await self.acting.wait()
        self.in_flight += 1
        try:
            return await self._post(who, path, kind, form)
        finally:
            self.in_flight -= 1

    async def _post(self, who: Who, path: str, kind: str, form: dict[str, str]) -> int:
        self.rec.posts += 1
        unanswered = False  # a try got no answer: the server may have done it and then gone
        for attempt in range(60):
            t0 = time.monotonic()
            try:
                status, body = await self.request("POST", path, who.cookie, form)
            except (OSError, TimeoutError, ConnectionError):
                status, body = 0, ""
            unanswered |= status == 0
            took = time.monotonic() - t0
            if took > 1:
                self.rec.slow_posts.append(
                    f"{path} {status} took {took:.1f} s at {self.now():%H:%M}"
                )
            if status == 200:
                if "sid" in form:
                    self.rec.acked[form["sid"]] = (kind, who.id)
                return 200
            if status == 422 and unanswered:
                # Refused by the rules when tried again after a try whose answer was lost as the
                # server went: that try was done (a step cannot be taken twice), as the person's
                # page, which shows it done, tells them.
                self.rec.done_unanswered.append(f"{kind} {path} at {self.now():%H:%M}")
                return 200
            if status not in (0, 502, 503):
                self.rec.refused[kind] += 1
                text = re.sub(r"<[^>]+>", " ", body)
                self.rec.refusals.append(
                    f"{kind} {path} by {who.email} ({who.role.value}) {status}: "
                    f"{' '.join(text.split())[:160]}"
                )
                return status
            self.rec.retried += attempt == 0
            self.rec.statuses[status] += 1
            await asyncio.sleep(0.5)
        self.rec.refused[kind] += 1
        self.rec.refusals.append(f"{kind} {path}: never answered")
        return 0

    def spawn(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    def sid(self) -> str:
        return f"rh-{self.rng.getrandbits(64):016x}"

    # presence ---------------------------------------------------------------------------------

    def online(self, pid: str) -> bool:
        return any(p.open for p in self.pages[pid])

    def page_opened(self, pid: str) -> list[datetime | None] | None:
        """A page's socket is open: the person's spell begins if none is running (returned)."""
        spells = self.rec.spells[pid]
        if not spells or spells[-1][1] is not None:
            spells.append([self.now(), None])
            return spells[-1]
        return None

    def first_message(
        self, pid: str, spell: list[datetime | None], began: float, opened: float
    ) -> None:
        """The page's first message came. The server notes the join as it accepts the socket,
        which may be before the harness saw the handshake end (since it began connecting), and
        records it beside sending that message: how early or late its record of the join may be
        is the handshake's time plus twice the time to that message."""
        if spell[0] is not None:
            self.rec.brackets[(pid, spell[0])] = (opened - began) + 2 * (time.time() - opened)

    def page_closed(self, pid: str) -> datetime | None:
        """A page is closing: the person's spell ends if it was their last (its end returned)."""
        if not self.online(pid):
            spells = self.rec.spells[pid]
            if spells and spells[-1][1] is None:
                spells[-1][1] = self.now()
                return spells[-1][1]
        return None

    def open_page(self, pid: str, slow: bool = False) -> Page:
        page = Page(self, self.people[pid], slow)
        page.sampled = pid in self.sampled
        self.pages[pid].add(page)
        task = asyncio.create_task(page.run())
        self.page_tasks.add(task)
        task.add_done_callback(self.page_tasks.discard)
        return page

    async def close_pages(self, pid: str) -> None:
        """The person closes their tabs: gone at once, the closing handshakes finish beside."""
        for page in list(self.pages[pid]):
            self.spawn(page.close())
        await asyncio.sleep(0)  # each close has begun (its tab is gone from the person's)

    # sampled pages ---------------------------------------------------------------------------

    def choose_samples(self) -> None:
        """A page of each role to compare with fresh loads: the director, two facilitators,
        an SP actor and three learners of their groups."""
        groups = list(self.groups.values())[:2]
        chosen = [self.director.id, *(g.facilitator for g in groups)]
        chosen += [g.sps[0] for g in groups[:1] if g.sps] + [
            m for g in groups for m in g.members[:2]
        ][:3]
        self.sampled = chosen

    async def fresh(self, who: Who) -> dict[str, str] | None:
        """The page as a fresh load shows it: its snapshot, on a socket of its own."""
        url = f"ws://127.0.0.1:{self.d.port}/live"
        headers = {"Cookie": f"companion_session={who.cookie}", "Origin": self.d.base}
        try:
            async with (
                websockets.connect(
                    url, additional_headers=headers, max_size=2**23, open_timeout=5
                ) as ws,
                asyncio.timeout(5),
            ):
                async for message in ws:
                    if message.startswith("<"):
                        shown: dict[str, str] = {}
                        swap(shown, message, snapshot=True)
                        if self.d.serving > 1:  # (named in a violation: see `sample`)
                            self.fresh_from = served_by(ws, self.d.port)
                        return shown
        except (OSError, TimeoutError, websockets.WebSocketException):
            return None
        return None

    @contextlib.asynccontextmanager
    async def hush(self) -> AsyncIterator[None]:
        """A quiet moment: every person holds their next action (posts wait, pages stay as
        they are) until it ends; it begins once the posts on their way are answered and the
        server has had a moment to push what they changed."""
        t0 = time.monotonic()
        self.hushing += 1
        self.acting.clear()
        try:
            while self.in_flight and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE)
            yield
        finally:
            self.hushing -= 1
            if not self.hushing:
                self.acting.set()
            self.rec.hushed_s += time.monotonic() - t0

    async def apart(
        self, page: Page, tries: int, keys: set[str] | None = None
    ) -> dict[str, str] | None:
        """The partials of `page` that showed something else than a fresh load of it at each of
        `tries` loads half a second apart (only `keys`, if given): partial -> where they part.
        None if the page closed meanwhile."""
        apart: dict[str, str] | None = None
        for _ in range(tries):
            now = await self.fresh(page.who)
            live = page.shown
            if now is None or live is None or not page.open:
                return None
            keys = set(now) | set(live) if keys is None else keys
            apart = {
                k: where_they_part(k, normal(live.get(k, "")), normal(now.get(k, "")))
                for k in sorted(keys)
                if normal(live.get(k, "")) != normal(now.get(k, ""))
            }
            if not apart:
                return apart
            keys = set(apart)
            await asyncio.sleep(0.5)
        return apart

    async def sample(self, after: str) -> None:
        """After a boundary or a move: each partial of each sampled page that is open shows
        what a fresh load of the page shows, within a few seconds. Pushes may still be on their
        way, and in a busy block the course moves on meanwhile, so each partial must meet its
        fresh self once in that time. One that does not is compared again at a quiet moment
        (`hush`), when nothing changes it: one that still differs was left stale. (With two
        workers a fresh load may land on the other, which hears each event a moment later, and
        a tile that many events change rarely holds still long enough for both.)"""
        await asyncio.sleep(1.0)
        for pid in self.sampled:
            pages = [pg for pg in self.pages.get(pid, ()) if pg.open and pg.shown]
            if not pages:
                continue
            page = pages[0]
            apart = await self.apart(page, 6)
            if apart:
                self.rec.hushed.append(f"{page.who.email} after {after} ({', '.join(apart)})")
                async with self.hush():
                    apart = await self.apart(page, 4, set(apart))
            self.rec.samples += 1
            if apart:
                first = next(iter(apart.values()))
                where = ""
                if self.d.serving > 1:  # which worker holds the live page, which the fresh
                    live_on = served_by(page.ws, self.d.port) if page.ws else None
                    where = f" (live on worker {live_on}, fresh on {self.fresh_from})"
                self.rec.stale.append(
                    f"{page.who.email} after {after}{where}, {len(apart)} apart "
                    f"({', '.join(apart)}): {first}"
                )

    # groups ------------------------------------------------------------------------------------

    async def read_groups(self) -> None:
        """The small groups as the director's page lists them (the groups export's source: the
        log the server wrote, replayed with the product's rules)."""
        from server.domain.course_state import replay
        from server.store import open_store

        store = open_store(self.d.store)
        await store.open()
        try:
            state = replay(await store.read(COURSE.id))
        finally:
            await store.close()
        self.groups = {
            name: Group(name, g.track, g.facilitator, list(g.members), list(g.sps))
            for name, g in state.rooms.groups.items()
            if g.facilitator is not None
        }


# --- what a page shows -------------------------------------------------------------------------
# A live message is a run of partials, each an element with an id that replaces the element with
# that id on the page (htmx's out-of-band swap, the only kind the server sends); a snapshot is
# every partial at once. The harness keeps each sampled page's partials the way the browser does,
# so that it can compare them with a fresh load of the same page.

TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^>]*?)?)(/?)>")
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
ID = re.compile(r'\sid="([^"]+)"')


def extent(html: str, start: int) -> int:
    """Where the element whose start tag is at `start` ends (exclusive)."""
    depth = 0
    for m in TAG.finditer(html, start):
        close, name, _, selfclosing = m.groups()
        if name.lower() in VOID or selfclosing:
            if depth == 0:
                return m.end()
            continue
        depth += -1 if close else 1
        if depth == 0:
            return m.end()
    return len(html)


def partials(html: str) -> list[tuple[str, str]]:
    """The top-level elements of a message that have an id: (id, markup)."""
    out, i = [], 0
    while (m := TAG.search(html, i)) is not None:
        if m.group(1):
            i = m.end()
            continue
        end = extent(html, m.start())
        found = ID.search(m.group(3) or "")
        if found:
            out.append((found.group(1), html[m.start() : end]))
        i = end
    return out


def swap(shown: dict[str, str], message: str, snapshot: bool = False) -> None:
    """Apply a message to what a page shows, as htmx does: each partial in turn replaces the
    element with its id, wherever it is. In a snapshot, a partial with nowhere to go is one of
    the page's own parts; later, htmx leaves the page as it is."""
    for pid, markup in partials(message):
        if pid in shown:
            shown[pid] = markup
            continue
        for key, outer in shown.items():
            j = outer.find(f' id="{pid}"')
            if j >= 0:
                at = outer.rfind("<", 0, j)
                shown[key] = outer[:at] + markup + outer[extent(outer, at) :]
                break
        else:
            if snapshot:
                shown[pid] = markup


def served_by(ws: Any, port: int) -> int | None:
    """The server process on the other end of a socket of ours (by the kernel's table)."""
    try:
        mine = ws.local_address[1]
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} and dport = :{mine} )"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError, TypeError, IndexError):
        return None
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else None


def where_they_part(key: str, live: str, fresh: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(live, fresh, strict=False)) if a != b), None)
    i = min(len(live), len(fresh)) if i is None else i
    a, b = live[max(0, i - 80) : i + 120], fresh[max(0, i - 80) : i + 120]
    return f"{key}: live …{a!r}… fresh …{b!r}…"


def normal(markup: str) -> str:
    return " ".join(markup.replace(' hx-swap-oob="true"', "").split())


# --- a page ---------------------------------------------------------------------------------------


class Page:
    """One open tab: the live socket, reconnecting as live.js does while its person stays."""

    def __init__(self, h: Harness, who: Who, slow: bool = False) -> None:
        self.h, self.who, self.slow = h, who, slow
        self.open = False
        self.closing = False
        self.ws: Any = None
        self.needle: tuple[str, float, int] | None = None  # (text, boundary wall, day)
        self.messages = 0
        self.shown: dict[str, str] | None = None  # what the page shows (sampled pages only)
        self.sampled = False

    async def run(self) -> None:
        h, url = self.h, f"ws://127.0.0.1:{self.h.d.port}/live"
        headers = {"Cookie": f"companion_session={self.who.cookie}", "Origin": h.d.base}
        first = True
        while not self.closing:
            trying = h.now()
            try:
                began = time.time()
                async with websockets.connect(
                    url,
                    additional_headers=headers,
                    max_size=2**23,
                    max_queue=4 if self.slow else 64,
                    ping_interval=None,
                    open_timeout=10,
                ) as ws:
                    self.ws = ws
                    if self.closing:
                        return
                    self.open = True
                    if self.slow:
                        await asyncio.sleep(3600)  # reads nothing: the server must cut it off
                    opened = time.time()
                    spell = h.page_opened(self.who.id)
                    h.rec.opened += 1
                    h.rec.reconnects += not first
                    first = False
                    if self.sampled:
                        self.shown = {}
                    async for message in ws:
                        self.messages += 1
                        if self.shown is not None and message.startswith("<"):
                            swap(self.shown, message, snapshot=not self.shown)
                        if spell is not None:
                            h.first_message(self.who.id, spell, began, opened)
                            spell = None
                        if self.needle and self.needle[0] in message:
                            _, at, day = self.needle
                            got = time.time()
                            if got >= at:
                                h.rec.boundary_ms[day].append((got - at) * 1000)
                                self.needle = None
            except (OSError, TimeoutError, websockets.WebSocketException):
                if not self.open:  # it never opened: the server may have counted it meanwhile
                    h.rec.tries[self.who.id].append((trying, h.now()))
            finally:
                self.shown = None
                if self.open:
                    self.open = False
                    h.page_closed(self.who.id)
                    if not self.closing:
                        h.rec.lost[self.who.id].append(h.now())  # the server or network went
            if self.slow:
                return
            await asyncio.sleep(h.rng.uniform(0.1, 0.4))  # live.js waits a moment, then again

    async def close(self) -> None:
        """The tab is closed: the spell ends now, and the server records the leave by the time
        the closing handshake is over."""
        self.closing = True
        self.h.pages[self.who.id].discard(self)
        ended = None
        if self.open:
            self.open = False
            ended = self.h.page_closed(self.who.id)
        t0 = time.time()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:
                self.ws.transport.abort()  # a tab closed is gone, handshake or not
        if ended is not None:
            self.h.rec.brackets[(self.who.id, ended)] = time.time() - t0

    def drop(self) -> None:
        """The network goes: the socket is cut without a closing handshake."""
        ws = self.ws
        if ws is not None and self.open:
            with contextlib.suppress(Exception):
                ws.transport.abort()


# --- a small group's role-play, run by its (simulated) facilitator --------------------------------


TURN_MINUTES = 4.0


@dataclass
class Group:
    name: str
    track: str
    facilitator: str
    members: list[str]
    sps: list[str]
    phase: str = "idle"
    next_at: datetime | None = None
    turns: int = 0  # turns begun in this group (the product numbers them per group)
    hot: str | None = None
    began: datetime | None = None
    timeouts: int = 0
    released: bool = True
    case: str = ""
    busy: bool = False  # the facilitator is doing something

    def case_for(self, item: ScheduledItem, rng: random.Random) -> str:
        title = item.item.title.lower()
        cases = sorted((c for c in LIBRARY.values() if c.track == self.track), key=lambda c: c.id)

        def fit(c: Any) -> int:
            return sum(1 for w in c.skill.value.split("_") if len(w) > 3 and w in title)

        best = max(fit(c) for c in cases)
        return rng.choice([c.id for c in cases if fit(c) == best])


def answers_for(form: Any, rng: random.Random) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in form.items:
        kind = it.kind.value
        if kind == "observed":
            out[f"a.{it.id}"] = rng.choice(("observed", "observed", "partly", "not_observed"))
        elif kind == "scale":
            out[f"a.{it.id}"] = str(rng.choice((3, 4, 4, 5)))
        elif kind == "choice" and it.options:
            out[f"a.{it.id}"] = next(iter(it.options))
        elif kind in ("text", "quote"):
            out[f"a.{it.id}"] = rng.choice(("Stayed with the silence.", "Named the worry first."))
    return out


class Course:
    """The course's people, doing what people do, through their pages and form posts."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.rng = h.rng
        self.plan: dict[str, tuple[datetime, datetime]] = {}  # person -> (join, leave) today
        self.wrote: set[tuple[str, str]] = set()
        self.evaluating: set[tuple[str, str]] = set()
        self.leaves_early: set[str] = set()
        self.moved = False

    def learners(self) -> list[Who]:
        return [p for p in self.h.people.values() if p.role is Role.LEARNER]

    def plan_day(self, day: int, items: list[ScheduledItem]) -> None:
        start, end = items[0].start, items[-1].end
        last_day = day == max(self.h.days)
        for p in self.h.people.values():
            join = start - timedelta(minutes=self.rng.uniform(0.5, 2))
            leave = end + timedelta(minutes=self.rng.uniform(0.2, 0.8))
            if p.role is Role.LEARNER:
                if self.rng.random() < 0.1:
                    join = start + timedelta(minutes=self.rng.uniform(5, 40))  # late
                if self.rng.random() < 0.04:
                    leave = end - timedelta(minutes=self.rng.uniform(40, 90))  # has to leave
                    if last_day:
                        self.leaves_early.add(p.id)
            self.plan[p.id] = (join, leave)

    async def presence(self, now: datetime) -> None:
        h = self.h
        for pid, (join, leave) in self.plan.items():
            want = join <= now < leave and now >= h.back_at.get(pid, join)
            have = bool(h.pages[pid])
            if want and not have:
                h.back_at.pop(pid, None)
                h.open_page(pid)
            elif not want and have:
                await h.close_pages(pid)
        on = [p for p in self.learners() if h.online(p.id)]
        minutes = TICK * h.d.speed / 60  # course minutes per tick
        for p in on:
            roll = self.rng.random()
            if roll < minutes * 2 / 420:  # about two drops a day: a short one or a long one
                h.rec.drops += 1
                gap = (
                    self.rng.uniform(0.2, 1.5)
                    if self.rng.random() < 0.7
                    else self.rng.uniform(3, 8)
                )
                h.back_at[p.id] = now + timedelta(minutes=gap)
                await h.close_pages(p.id)
            elif roll < minutes * 5 / 420:  # about three reloads a day
                h.rec.reloads += 1
                await h.close_pages(p.id)
                h.open_page(p.id)

    # role-play ------------------------------------------------------------------------------------

    async def practice(self, item: ScheduledItem, now: datetime) -> None:
        for g in self.h.groups.values():
            if g.next_at is None:
                g.next_at = item.start + timedelta(minutes=self.rng.uniform(1, 3))
            if now >= g.next_at and not g.busy:
                g.busy = True  # each group's facilitator acts on their own, as people do
                self.h.spawn(self.stepping(g, item, now))

    async def stepping(self, g: Group, item: ScheduledItem, now: datetime) -> None:
        try:
            await self.step(g, item, now)
        finally:
            g.busy = False

    async def rp(self, g: Group, who: str, action: str, **form: str) -> int:
        return await self.h.post(self.h.people[who], f"/rp/{g.name}/{action}", f"rp.{action}", form)

    async def step(self, g: Group, item: ScheduledItem, now: datetime) -> None:
        h, m = self.h, timedelta(minutes=1)
        left = item.end - now
        if g.phase in ("idle", "done"):
            if left > 14 * m:
                case = g.case_for(item, self.rng)
                if await self.rp(g, g.facilitator, "start", scenario=case) == 200:
                    g.phase, g.case = "briefing", case
            g.next_at = now + 1.5 * m
            return
        if g.phase in ("running", "timeout"):
            assert g.began is not None and g.hot is not None
            if g.phase == "running" and g.timeouts == 0 and now - g.began >= 1.5 * m:
                callers = [x for x in g.members if x != g.hot and h.online(x)] or [g.facilitator]
                if await self.rp(g, self.rng.choice(callers), "timeout") == 200:
                    g.phase, g.timeouts = "timeout", 1
                g.next_at = now + 0.5 * m
            elif g.phase == "timeout":
                if await self.rp(g, g.facilitator, "timein") == 200:
                    g.phase = "running"
                g.next_at = now + 0.5 * m
            elif now - g.began >= TURN_MINUTES * m or left < 4 * m:
                if await self.rp(g, g.facilitator, "end-turn") == 200:
                    g.phase, g.released = "debrief", False
                    self.feedback(g, g.turns, g.hot)
                g.next_at = now + 1.6 * m
            else:
                g.next_at = now + 0.3 * m
            return
        # briefing or debrief: release, then the next learner, or end the case
        if not g.released and g.hot is not None:
            number = g.turns
            if (
                await h.post(
                    h.people[g.facilitator], f"/fb/{g.name}/{number}/release", "release", {}
                )
                == 200
            ):
                g.released = True
                h.rec.assessed.add(g.hot)
                if h.online(g.hot) and g.hot in g.members:  # not moved to another group since
                    await h.post(
                        h.people[g.hot],
                        f"/fb/{g.name}/{number}/next",
                        "next-time",
                        {"sid": h.sid(), "text": "Next time I will pause after the headline."},
                    )
            g.next_at = now + 0.4 * m
            return
        ready = [x for x in g.members if h.online(x)]
        if left < (TURN_MINUTES + 6) * m or not ready:
            if left < (TURN_MINUTES + 6) * m and await self.rp(g, g.facilitator, "end") == 200:
                g.phase = "done"
            g.next_at = now + (3 * m if g.phase == "done" else 0.5 * m)
            return
        learner = min(ready, key=lambda x: (h.rec.turns[x], self.rng.random()))
        if (
            await self.rp(g, g.facilitator, "begin", learner=learner, goal="Stay with the silence")
            == 200
        ):
            g.turns += 1
            g.phase, g.hot, g.began, g.timeouts = "running", learner, now, 0
            h.rec.turns[learner] += 1
        g.next_at = now + 0.3 * m

    def feedback(self, g: Group, number: int, hot: str | None) -> None:
        """Everyone else in the room gives feedback on the turn, the learner rates themselves."""
        h = self.h
        observers = [x for x in [*g.members, *g.sps, g.facilitator] if h.online(x)]
        for who in observers:
            if self.rng.random() > 0.95:
                continue
            case = LIBRARY.get(g.case)
            form = INSTRUMENTS[SELF_RATING] if who == hot else form_for(case, INSTRUMENTS)
            data = {"sid": h.sid(), **answers_for(form, self.rng)}
            delay = self.rng.uniform(0.05, 1.2) * 60 / h.d.speed
            h.spawn(self.later(delay, h.people[who], f"/fb/{g.name}/{number}", "feedback", data))

    async def later(
        self, delay: float, who: Who, path: str, kind: str, form: dict[str, str]
    ) -> None:
        await asyncio.sleep(delay)
        await self.h.post(who, path, kind, form)

    async def close_practice(self, item: ScheduledItem) -> None:
        """The item is ending: every case still open is closed by its facilitator."""
        await asyncio.gather(*(self.close_group(g) for g in self.h.groups.values()))

    async def close_group(self, g: Group) -> None:
        while g.busy:
            await asyncio.sleep(0.02)
        if g.phase in ("running", "timeout"):
            if await self.rp(g, g.facilitator, "end-turn") == 200:
                self.feedback(g, g.turns, g.hot)
                g.released = False
            g.phase = "debrief"
        if g.phase in ("briefing", "debrief"):
            if not g.released and g.hot is not None:
                if (
                    await self.h.post(
                        self.h.people[g.facilitator],
                        f"/fb/{g.name}/{g.turns}/release",
                        "release",
                        {},
                    )
                    == 200
                ):
                    self.h.rec.assessed.add(g.hot)
                g.released = True
            if await self.rp(g, g.facilitator, "end") == 200:
                g.phase = "done"
        g.next_at = None
        g.phase = "idle" if g.phase == "done" else g.phase

    async def move(self, now: datetime) -> None:
        """The director moves two learners to another group of their track, mid-block."""
        h = self.h
        for _ in range(2):
            src = self.rng.choice([g for g in h.groups.values() if len(g.members) > 5])
            dst = self.rng.choice(
                [g for g in h.groups.values() if g.track == src.track and g is not src]
            )
            who = self.rng.choice([x for x in src.members if x != src.hot])
            if (
                await h.post(
                    self.h.director,
                    "/director/groups/move",
                    "move",
                    {"person": who, "group": dst.name},
                )
                == 200
            ):
                src.members.remove(who)
                dst.members.append(who)

    # reflections, evaluations, talk ---------------------------------------------------------------

    async def writing(self, item: ScheduledItem, now: datetime) -> None:
        h, m = self.h, timedelta(minutes=1)
        if item.item.prompts and now - item.start > 5 * m:
            for p in self.learners():
                key = (p.id, item.id)
                if key in self.wrote or not h.online(p.id) or self.rng.random() > 0.05:
                    continue
                self.wrote.add(key)
                h.spawn(
                    h.post(
                        p,
                        "/reflections",
                        "reflection",
                        {
                            "sid": h.sid(),
                            "item": item.id,
                            "prompt": item.item.prompts[0],
                            "text": "Staying quiet after the news gave the family room to speak.",
                            "share": "1" if self.rng.random() < 0.3 else "0",
                        },
                    )
                )
        for key in evaluation_keys(SCHEDULE):
            if now < evaluation_opens(SCHEDULE, key) + 2 * m:
                continue
            day = SCHEDULE.course.days if key == COURSE_EVALUATION else int(key.split("-")[1])
            if day not in h.days:
                continue
            form = evaluation_form(EVALUATIONS, key)
            for p in self.learners():
                if (p.id, key) in self.evaluating or not h.online(p.id) or self.rng.random() > 0.3:
                    continue
                self.evaluating.add((p.id, key))
                h.spawn(self.evaluate(p, key, form))

    async def evaluate(self, p: Who, key: str, form: Any) -> None:
        h = self.h
        data = {"sid": h.sid(), **answers_for(form, self.rng)}
        if await h.post(p, f"/evaluations/{key}", "evaluation", data) == 200:
            h.rec.evaluations[key] += 1
            if key == COURSE_EVALUATION:
                h.rec.evaluated.add(p.id)

    async def talk(self, item: ScheduledItem, now: datetime) -> None:
        if item.item.kind in (Kind.BREAK, Kind.LUNCH, Kind.TRANSITION):
            return
        grouped = item.item.kind in (Kind.SMALL_GROUP, Kind.PRACTICE)
        h = self.h
        minutes = TICK * h.d.speed / 60
        for p in h.people.values():
            if not h.online(p.id) or self.rng.random() > minutes * 0.02:
                continue
            if grouped and not any(
                p.id in (g.facilitator, *g.members, *g.sps) for g in h.groups.values()
            ):
                continue  # no room of their own in the small groups: no chat box either
            ask = (
                item.item.kind in (Kind.PLENARY, Kind.TRACK_SESSION)
                and p.role is Role.LEARNER
                and self.rng.random() < 0.2
            )
            text = self.rng.choice(QUESTION if ask else CHAT)
            h.spawn(
                h.post(
                    p,
                    "/talk",
                    "talk",
                    {"sid": h.sid(), "kind": "question" if ask else "chat", "text": text},
                )
            )

    async def claims(self) -> None:
        """After the course, each learner who evaluated it claims every type they expect to be
        able to claim: what their own record of attendance surely earns (its low end within the
        stated precision), as a learner claims only what matches their participation."""
        h = self.h
        for p in self.learners():
            per_item, slack = expected_minutes(h, p.id)
            low = {k: max(0.0, v - slack.get(k, 0.0)) for k, v in per_item.items()}
            for t, amount, refused in expected_credit(h, p, low):
                if refused is None and amount > 0:
                    form = {
                        "type": t.id,
                        "amount": f"{amount:g}",
                        "attest": "yes",
                        "consent": "yes",
                    }
                    if await h.post(p, "/me/claim", "claim", form) == 200:
                        h.rec.claims[(p.id, t.id)] = amount


# --- what the harness's own record implies --------------------------------------------------------


EDGE_WALL_S = 0.2  # wall seconds either way at each edge of a spell, besides the time within
# which the harness saw the server record it (the clocks' agreement, from the calibration)


def expected_minutes(h: Harness, pid: str) -> tuple[dict[str, float], dict[str, float]]:
    """Minutes per item from the harness's record of this person's open pages, under the
    published rule (a gap of two minutes or less counts as present), and how far either way the
    server's figure may be for each item: the clocks' precision at each edge of a spell, and
    while the server itself was away (killed), the moment it began again, which only it knows.
    A page open when the server was killed counts as present until the server is back: it
    cannot tell when it went, and the person did not leave."""
    end = h.now()
    spells = [(a, b or end) for a, b in h.rec.spells.get(pid, []) if a is not None]
    edge = timedelta(seconds=EDGE_WALL_S * h.d.speed)
    bridged = []
    for a, b in sorted(spells):
        for kill, _, back, bridge in h.rec.windows:
            if bridge and kill - edge <= b <= back:
                b = back
        bridged.append((a, b))
    minutes = minutes_per_item(merged_spells(bridged), SCHEDULE)
    # A try to open a page that failed may have been accepted by the server and counted until
    # it saw the socket close (and may close a gap): those minutes may count or not.
    tried = minutes_per_item(merged_spells(bridged + h.rec.tries.get(pid, [])), SCHEDULE)
    # A gap within the clocks' precision of the reconnect rule's limit may fall either side of
    # it on the server's clock: its minutes may count or not.
    doubtful = []
    reach: datetime | None = None
    for a, b in sorted(bridged):
        if reach is not None and a > reach:
            doubt = timedelta(
                seconds=(2 * EDGE_WALL_S + h.rec.brackets.get((pid, reach), 0.0)) * h.d.speed
            )
            if abs((a - reach) - RECONNECT_GRACE) <= doubt:
                doubtful.append((reach, a))
        reach = b if reach is None else max(reach, b)
    slack: dict[str, float] = {}
    for s in SCHEDULE.items:
        edges = [
            EDGE_WALL_S + h.rec.brackets.get((pid, t), 0.0)
            for a, b in spells
            for t in (a, b)
            if s.start - edge <= t <= s.end + edge
        ]
        extra = sum(
            (back - began).total_seconds() / 60
            for kill, began, back, _ in h.rec.windows
            if s.start <= back + timedelta(minutes=2) and kill <= s.end
        )
        # A page of a killed worker is closed in the log when the others last saw it beat:
        # its last beat, or the one before if it died before they next looked. This person
        # may be counted up to two heartbeats less before the kill.
        near = timedelta(seconds=h.d.speed)
        for kill, within in h.rec.worker_kills:
            seen = kill - timedelta(seconds=within * h.d.speed)
            if any(abs(t - kill) <= near for t in h.rec.lost.get(pid, [])) and (
                s.start <= kill and seen <= s.end
            ):
                extra += within * h.d.speed / 60
        extra += sum(
            max(0.0, (min(b, s.end) - max(a, s.start)).total_seconds()) / 60 for a, b in doubtful
        )
        extra += max(0.0, tried.get(s.id, 0.0) - minutes.get(s.id, 0.0))
        slack[s.id] = sum(edges) * h.d.speed / 60 + extra
    return minutes, slack


def expected_credit(
    h: Harness, p: Who, per_item: dict[str, float], slack: float = 0.0
) -> list[tuple[Any, float, str | None]]:
    """Each type this learner may claim, what their minutes earn, and why a claim would be
    refused (None: it may be made), by the product's published rules on the harness's facts."""
    from server.domain.credit import offered, standing_of
    from server.domain.designations import parse_degrees

    d = COURSE.designations
    ids = {k: p.board_ids.get(k) for k in ("abim_id", "abp_id", "nabp_id")}
    f = Facts(
        Role.LEARNER,
        Discipline(p.discipline),
        parse_degrees(p.degree),
        ids,
        p.dob,
        p.id in h.rec.evaluated,
        p.id in h.rec.assessed,
    )
    out = []
    for t in offered(d, f):
        got = standing_of(per_item, SCHEDULE, t)[2]
        out.append((t, got, claim_refused(d, t, f, got, got, True)))
    return out


# --- the run --------------------------------------------------------------------------------------


async def jump(h: Harness, lead: int = 120) -> None:
    await h.post(h.director, "/director/clock/next", "clock", {"lead": str(lead)})
    await asyncio.sleep(0.3)
    await h.calibrate()


async def wait_all_closed(h: Harness, timeout: float = 15) -> int:
    """Wait until the server counts nobody online; how many it still counts then."""
    deadline = time.monotonic() + timeout
    online = -1
    while time.monotonic() < deadline:
        status, body = await h.get("/healthz", None)
        if status == 200:
            online = int(json.loads(body)["online"])
            if online == 0:
                return 0
        await asyncio.sleep(0.25)
    return online


class Faults:
    """The schedule of injected faults, each at a course instant of a practice block."""

    def __init__(self, h: Harness, quick: bool) -> None:
        self.h = h
        d2 = SCHEDULE.day_items(2)
        blocks = [s for s in d2 if s.item.kind is Kind.PRACTICE]
        m = timedelta(minutes=1)
        self.plan: list[tuple[datetime, str]] = [
            (blocks[0].start + 50 * m, "kill"),
            (blocks[1].start + 30 * m, "drop"),
            (blocks[1].start + 60 * m, "store"),
        ]
        if quick:  # all in the first block, the only one the quick run has
            self.plan = [
                (blocks[0].start + 25 * m, "kill"),
                (blocks[0].start + 50 * m, "drop"),
                (blocks[0].start + 70 * m, "store"),
            ]
        self.slow_from = d2[0].start + 5 * m

    async def due(self, now: datetime) -> None:
        h = self.h
        if self.slow_from and now >= self.slow_from and 2 in h.days:
            # The director's second tab (not part of anyone's attendance): it stops reading.
            h.slow = Page(h, h.director, slow=True)
            task = asyncio.create_task(h.slow.run())
            h.page_tasks.add(task)
            self.slow_from = None
        while self.plan and now >= self.plan[0][0]:
            _, what = self.plan.pop(0)
            h.spawn(self.inject(what))  # beside the course, which goes on meanwhile

    async def inject(self, what: str) -> None:
        h = self.h
        t0 = time.monotonic()
        at = h.now()
        if what == "kill":
            said = await asyncio.to_thread(h.d.kill)
            began = h.now()
            back = await asyncio.to_thread(h.d.restart_after_kill)
            await h.calibrate()  # started again, the course clock went on from its log
            if isinstance(h.d, OneProcess):
                h.rec.windows.append((at, began, h.now(), True))
            else:
                h.rec.worker_kills.append((at, 2 * h.d.heartbeat))
            h.rec.faults.append((said, at.isoformat(timespec="seconds"), back))
        elif what == "drop":
            pages = [pg for pages in h.pages.values() for pg in pages if pg.open and not pg.slow]
            cut = h.rng.sample(pages, max(1, len(pages) // 10))
            for pg in cut:
                pg.drop()
            h.rec.faults.append(
                (
                    f"{len(cut)} of {len(pages)} sockets dropped at once",
                    at.isoformat(timespec="seconds"),
                    0.0,
                )
            )
        elif what == "store":
            if isinstance(h.d, TwoWorkers):
                await asyncio.to_thread(h.d.redis.stop)
                await asyncio.sleep(2.0)
                await asyncio.to_thread(h.d.redis.start)
                # Joins and leaves made meanwhile are recorded once Redis is back.
                h.rec.windows.append((at, at, h.now(), False))
                h.rec.faults.append(
                    (
                        "Redis stopped for 2 s and restarted",
                        at.isoformat(timespec="seconds"),
                        time.monotonic() - t0,
                    )
                )
            elif isinstance(h.d, OneProcess):
                filler = await asyncio.to_thread(h.d.fill_disk)
                if filler is None:
                    h.rec.faults.append(
                        (
                            "full disk: skipped (no filesystem of its own)",
                            at.isoformat(timespec="seconds"),
                            0.0,
                        )
                    )
                else:
                    # Full until a write was refused for it (the log's files have some
                    # room of their own), at most 10 s.
                    refused = h.rec.statuses[503]
                    while h.rec.statuses[503] == refused and time.monotonic() - t0 < 10:
                        await asyncio.sleep(0.1)
                    filler.unlink()
                    h.rec.faults.append(
                        (
                            f"the log's disk full ({h.rec.statuses[503] - refused} tries "
                            "refused for it)",
                            at.isoformat(timespec="seconds"),
                            time.monotonic() - t0,
                        )
                    )


async def run_day(
    h: Harness, course: Course, faults: Faults, day: int, until: str | None = None
) -> dict[str, Any]:
    """One course day, to its end (or to the end of item `until`, everyone then leaving)."""
    items = SCHEDULE.day_items(day)
    if until is not None:
        items = items[: [s.id for s in items].index(until) + 1]
    end = items[-1].end + timedelta(minutes=1.5)
    course.plan_day(day, items)
    armed: set[str] = set()
    closed: set[str] = set()
    t0 = time.monotonic()
    last_rss = 0.0
    while (now := h.now()) < end:
        await faults.due(now)
        acting = h.acting.is_set()  # (not in a quiet moment: see Harness.hush)
        if acting:
            await course.presence(now)
        current = SCHEDULE.current(now)
        if current is not None:
            if current.item.kind is Kind.PRACTICE:
                if now < current.end - timedelta(minutes=3):
                    if acting:
                        await course.practice(current, now)
                    if (
                        acting
                        and current.id == "d2-07"
                        and not course.moved
                        and now > current.start + timedelta(minutes=20)
                    ):
                        course.moved = True
                        await course.move(now)
                        h.spawn(h.sample("the director moved two learners"))
                elif current.id not in closed:
                    closed.add(current.id)
                    await course.close_practice(current)
            if acting:
                await course.writing(current, now)
                await course.talk(current, now)
        for s in items:  # a block the harness fell behind on is closed, late (and counted)
            if s.item.kind is Kind.PRACTICE and s.end <= now and s.id not in closed:
                closed.add(s.id)
                await course.close_practice(s)
        for s in items:
            wall = h.wall_of(s.start)
            if (
                s.id not in armed
                and wall - time.time() < 1.0
                and s.start > now - timedelta(seconds=1)
            ):
                armed.add(s.id)
                needle = escape(s.item.title, quote=False)
                for pages in h.pages.values():
                    for pg in pages:
                        if pg.open and not pg.slow:
                            pg.needle = (needle, wall, day)
                h.spawn(missed(h, wall, day, s.id))
                h.spawn(after_wall(wall, h.sample(f"{s.id} began")))
        if time.monotonic() - last_rss > 5:
            last_rss = time.monotonic()
            h.rec.rss[day].append(h.d.rss_mib())
        await asyncio.sleep(TICK)
    for pid in list(h.pages):  # everyone's leave has passed (at this speed, maybe mid-tick)
        await h.close_pages(pid)
    online_after = await wait_all_closed(h)
    return {
        "day": day,
        "wall_s": time.monotonic() - t0,
        "online_after": online_after,
        "log_bytes": h.d.log_bytes(),
    }


async def after_wall(wall: float, then: Any) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))
    await then


async def missed(h: Harness, wall: float, day: int, item: str) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()) + 10)
    for pages in h.pages.values():
        for pg in pages:
            if pg.needle and pg.needle[1] == wall:
                if pg.open:
                    h.rec.missed[day, item] += 1
                pg.needle = None


async def was_cut(page: Page | None) -> bool:
    """Whether the server closed this page's socket (read now, after it stopped reading)."""
    if page is None or page.ws is None:
        return False
    try:
        async with asyncio.timeout(5):
            async for _ in page.ws:
                pass
    except TimeoutError:
        return False
    except websockets.WebSocketException:
        pass
    return page.ws.close_code is not None


async def read_log(store_url: str) -> list[Any]:
    from server.store import open_store

    store = open_store(store_url)
    await store.open()
    try:
        return list(await store.read(COURSE.id))
    finally:
        await store.close()


async def table(h: Harness, name: str) -> list[dict[str, str]]:
    status, body = await h.get(f"/director/export/{name}?format=csv", h.director)
    assert status == 200, (name, status, body[:200])
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


# --- the checks -----------------------------------------------------------------------------------

# Events that name an earlier write's submission id rather than being one.
REFERS = frozenset({"reflection.shared"})


async def check(h: Harness, log: list[Any]) -> dict[str, Any]:
    """Every invariant with its count of violations and what the first ones were."""
    out: dict[str, Any] = {}
    # 1. Every acknowledged write stored exactly once.
    stored = Counter(
        str(e.data.get("sid"))
        for e in log
        if isinstance(e.data, dict) and e.data.get("sid") and e.type not in REFERS
    )
    wrong = [
        f"{sid} ({kind}) stored {stored[sid]} times"
        for sid, (kind, _) in h.rec.acked.items()
        if stored[sid] != 1
    ]
    out["acknowledged writes stored exactly once"] = (len(wrong), len(h.rec.acked), wrong[:5])
    # 2. Attendance per person and item, and each credit type, against the harness's record.
    rows = await table(h, "attendance")
    server = {(r["email"], r["start"]): float(r["minutes_present"] or 0) for r in rows}
    wrong = []
    compared = 0
    diffs: list[float] = []
    days = {d.date() for d in day_dates(h.days)}
    for p in h.people.values():
        if p.role is not Role.LEARNER:
            continue  # the attendance table is the learners'
        mine, slack = expected_minutes(h, p.id)
        for s in SCHEDULE.items:
            if s.start.date() not in days:
                continue
            compared += 1
            a, b = mine.get(s.id, 0.0), server.get((p.email, utc_z(s.start)), 0.0)
            diffs.append(abs(a - b))
            if abs(a - b) > slack.get(s.id, 0.0) + 0.05:  # the table rounds to 0.1
                story = presence_story(h, log, p.id, s) if len(wrong) < 5 else ""
                wrong.append(f"{p.email} {s.id}: harness {a:.2f} min, server {b:.2f}{story}")
    h.rec.minute_diffs = diffs
    out["minutes per person and item as the harness's record gives"] = (
        len(wrong),
        compared,
        wrong[:5],
    )
    rows = await table(h, "credits")
    earned_server = {
        (r["email"], r["credit_type"]): (float(r["earned"] or 0), float(r["claimed"] or 0))
        for r in rows
    }
    wrong, compared = [], 0
    for p in h.people.values():
        if p.role is not Role.LEARNER:
            continue
        per_item, slack = expected_minutes(h, p.id)
        low = {k: max(0.0, v - slack.get(k, 0.0)) for k, v in per_item.items()}
        high = {k: v + slack.get(k, 0.0) for k, v in per_item.items()}
        for (t, amount, _), (_, lo, _), (_, hi, _) in zip(
            expected_credit(h, p, per_item),
            expected_credit(h, p, low),
            expected_credit(h, p, high),
            strict=True,
        ):
            compared += 1
            got, claimed = earned_server.get((p.email, t.id), (0.0, 0.0))
            if not lo - 1e-9 <= got <= hi + 1e-9:
                wrong.append(f"{p.email} {t.id}: harness {amount:g}, server {got:g}")
            if abs(claimed - h.rec.claims.get((p.id, t.id), 0.0)) > 1e-9:
                wrong.append(
                    f"{p.email} {t.id}: claimed {h.rec.claims.get((p.id, t.id), 0)}, "
                    f"server says {claimed}"
                )
    out["credit of each type as the harness's record gives"] = (len(wrong), compared, wrong[:5])
    # 3. Every role-play closed as the agenda closes it (server/domain/lifecycle.py): a scene
    # still running when the item it was last active in ends is parked by then, and the case
    # is ended by the end of the item after it. The server's timer fires within the clocks'
    # precision of the boundary.
    grace = timedelta(seconds=EDGE_WALL_S * h.d.speed)
    cases: dict[str, ScheduledItem] = {}  # group -> the item its case was last active in
    scenes: dict[str, ScheduledItem] = {}  # group -> the item its running turn began in
    wrong = []
    starts = 0

    def closes(item: ScheduledItem) -> datetime:
        after = SCHEDULE.next(item.start)
        return after.end if after is not None else item.end

    for e in log:
        for g, item in list(scenes.items()):
            if e.at > item.end + grace:
                wrong.append(f"{g}: a turn of {item.id} still running at {e.at.isoformat()}")
                del scenes[g]
        for g, item in list(cases.items()):
            if e.at > closes(item) + grace:
                wrong.append(f"{g}: the case of {item.id} still open at {e.at.isoformat()}")
                del cases[g]
        g = str(e.data.get("group")) if isinstance(e.data, dict) else ""
        if e.type in ("roleplay.started", "turn.began"):
            item = SCHEDULE.current(e.at) or SCHEDULE.next(e.at)
            if item is not None:
                starts += e.type == "roleplay.started"
                cases[g] = item
                if e.type == "turn.began":
                    scenes[g] = item
        elif e.type == "turn.ended":
            scenes.pop(g, None)
        elif e.type == "roleplay.ended":
            scenes.pop(g, None)
            cases.pop(g, None)
    wrong += [f"{g}: the case of {item.id} never ended" for g, item in cases.items()]
    out["every role-play closed as the agenda closes it"] = (len(wrong), starts, wrong[:5])
    # 4. Nobody online once everyone has left.
    online = await wait_all_closed(h)
    from server.domain.course_state import replay

    left_on = [
        f"{p.reg.email} still online ({', '.join(sorted(p.connections))})"
        for p in replay(await read_log(h.d.store)).people.by_id.values()
        if p.connections
    ]
    out["sampled pages show what a fresh load shows, after each boundary and move"] = (
        len(h.rec.stale),
        h.rec.samples,
        h.rec.stale[:5],
    )
    out["nobody online once everyone has left"] = (
        max(online, len(left_on)),
        len(h.people),
        left_on[:5] or ([f"{online} still online"] if online else []),
    )
    return out


def presence_story(h: Harness, log: list[Any], pid: str, s: ScheduledItem) -> str:
    """What each side has of one person's presence in one item, in course minutes from its
    start: the harness's spells, and the server's joins, leaves and resets of their pages (when
    written, @ when they happened if recorded late)."""

    def at(t: datetime) -> str:
        return f"{(t - s.start).total_seconds() / 60:+.1f}"

    near = timedelta(minutes=10)
    mine = [
        f"{at(a)}..{at(b) if b else 'open'}"
        for a, b in h.rec.spells.get(pid, [])
        if a is not None and a <= s.end + near and (b is None or b >= s.start - near)
    ]
    conns: set[str] = set()
    theirs = []
    for e in log:
        d = e.data if isinstance(e.data, dict) else {}
        if e.type in ("presence.joined", "presence.left") and d.get("person") == pid:
            conns.add(str(d.get("conn")))
            mark = "+" if e.type == "presence.joined" else "-"
        elif e.type == "presence.reset" and (
            not d.get("connections") or conns & set(d["connections"])
        ):
            mark = "reset "
        else:
            continue
        if s.start - near <= e.at <= s.end + near:
            late = f"@{at(datetime.fromisoformat(d['at']))}" if d.get("at") else ""
            theirs.append(f"{mark}{at(e.at)}{late}" + (f" {d['conn']}" if d.get("conn") else ""))
    return f" (harness spells {', '.join(mine)}; server {', '.join(theirs)})"


def day_dates(days: list[int]) -> list[datetime]:
    return [SCHEDULE.day_items(d)[0].start for d in days]


def server_errors(text: str) -> list[str]:
    """Lines of the server's logs that report an error (tracebacks and ERROR lines)."""
    lines = text.splitlines()
    return [ln for ln in lines if "Traceback" in ln or re.search(r"\bERROR\b", ln)]


# --- one deployment, start to end -----------------------------------------------------------------


QUICK_UNTIL = "d2-04"  # the quick run: Day 2's morning, to the end of its first practice block


async def rehearse(
    kind: type[Deployment],
    learners: int,
    days: list[int],
    speed: float,
    seed: int,
    until: str | None = None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    first = SCHEDULE.day_items(days[0])[0].start
    # The clock starts well before the first item; the director then moves it to just before.
    deploy = kind(folder, speed, first - timedelta(hours=3))
    try:
        roster = make_roster(rng, learners, folder)
        ids = import_roster(roster, deploy.store, {"COMPANION_SECRET": SECRET})
        people = read_people(roster, ids, Signer(SECRET))
        start_s = deploy.launch()
        h = Harness(deploy, people, rng, days)
        await h.calibrate()
        assert (
            await h.post(
                h.director,
                "/director/groups/assign",
                "groups",
                {"seed": str(seed), "min_size": "6", "max_size": "8", "teams": "together"},
            )
            == 200
        )
        await h.read_groups()
        h.choose_samples()
        await jump(h)
        course = Course(h)
        quick = days == [2] and until is not None
        faults = Faults(h, quick)
        t0 = time.monotonic()
        per_day = []
        for i, day in enumerate(days):
            per_day.append(await run_day(h, course, faults, day, until))
            print(
                f"{deploy.name}: day {day} done in {per_day[-1]['wall_s']:.0f} s", file=sys.stderr
            )
            h.rec.log_bytes[day] = deploy.log_bytes()
            if i + 1 < len(days):
                await jump(h)
        await course.claims()
        while h.tasks:
            await asyncio.sleep(0.2)
        slow_cut = await was_cut(h.slow)
        log = await read_log(deploy.store)
        checks = await check(h, log)
        # Restart with the whole log: the cold start, and every page served again.
        deploy.stop()
        stopped_cleanly = "Traceback" not in deploy.logs[-1].read_text(errors="replace")
        cold = deploy.launch()
        t1 = time.monotonic()
        pages = [h.open_page(p.id) for p in people.values()]
        while any(pg.messages == 0 for pg in pages) and time.monotonic() - t1 < 30:
            await asyncio.sleep(0.02)
        served = time.monotonic() - t1
        cold_rss = deploy.rss_mib()  # what the whole log's state needs, with every page open
        for pid in list(h.pages):
            await h.close_pages(pid)
        await wait_all_closed(h)
        errors = server_errors(deploy.log_text())
        total = time.monotonic() - t0
        deploy.stop()
        return {
            "deployment": deploy.name,
            "people": len(people),
            "groups": len(h.groups),
            "speed": speed,
            "days": days,
            "wall_s": total,
            "start_s": start_s,
            "per_day": per_day,
            "rec": h.rec,
            "checks": checks,
            "log": log,
            "slow_cut": slow_cut,
            "stopped_cleanly": stopped_cleanly,
            "cold_start_s": cold,
            "pages_served_s": served,
            "cold_rss_mib": cold_rss,
            "processes": deploy.serving,
            "errors": errors,
            "learners": [p.id for p in people.values() if p.role is Role.LEARNER],
            "leaves_early": course.leaves_early,
        }
    finally:
        deploy.close()
        if os.environ.get("REHEARSAL_KEEP"):  # for looking into a run: the record and the log
            spells = {pid: [[str(a), str(b)] for a, b in v] for pid, v in h.rec.spells.items()}
            (folder / "spells.json").write_text(json.dumps(spells))
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


# --- the report -----------------------------------------------------------------------------------


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.0f}" if values else "–"


def section(r: dict[str, Any]) -> list[str]:
    rec: Record = r["rec"]
    days = r["days"]
    out = [f"## {r['deployment'][0].upper()}{r['deployment'][1:]}", ""]
    out.append(
        f"{r['people']} people in {r['groups']} small groups; course day(s) "
        f"{', '.join(map(str, days))} "
        f"on a rehearsal clock at {r['speed']:g}× ({r['wall_s'] / 60:.1f} minutes of wall time; "
        f"the server answered {r['start_s']:.1f} s after it was started)."
    )
    out += ["", "Injected:", ""]
    for what, at, secs in rec.faults:
        out.append(f"- {what} at {at} (course time){f', back after {secs:.1f} s' if secs else ''}")
    cut = "cut off by the server" if r["slow_cut"] else "NOT cut off"
    out.append(f"- one page that stops reading from Day 2's start: {cut}")
    out += [
        "",
        "| day | wall_s | events | log_MiB | rss_max_MiB | rss_end_MiB | boundary_p50_ms | "
        "boundary_p99_ms | boundary_pages | missed | online_after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    counts = Counter(day_of(e.at) for e in r["log"])
    for d in r["per_day"]:
        day = d["day"]
        rss = rec.rss.get(day, [0.0])
        b = rec.boundary_ms.get(day, [])
        out.append(
            f"| {day} | {d['wall_s']:.0f} | {counts.get(day, 0)} | {d['log_bytes'] / 2**20:.1f} | "
            f"{max(rss):.0f} | {rss[-1]:.0f} | {ms(b, 50)} | {ms(b, 99)} | {len(b)} | "
            f"{sum(n for (on, _), n in rec.missed.items() if on == day)} | "
            f"{d['online_after']} |"
        )
    if rec.missed:
        out += [
            "",
            "Pages open at a boundary that had not shown its item 10 s of wall time later: "
            + ", ".join(f"{item} {n}" for (_, item), n in sorted(rec.missed.items()))
            + ".",
        ]
    learners = r["learners"]
    turns = [rec.turns.get(pid, 0) for pid in learners]
    few = sum(1 for t in turns if t < 2)
    refused = ", ".join(f"{k} {v}" for k, v in sorted(rec.refused.items())) or "none"
    names = {0: "no answer", 502: "502", 503: "503"}
    retry = ", ".join(f"{names.get(k, k)}: {v} tries" for k, v in sorted(rec.statuses.items()))

    def md(p: float) -> str:
        return f"{percentile(rec.minute_diffs, p):.2f}" if rec.minute_diffs else "–"

    out += [
        "",
        f"Pages opened {rec.opened} times ({rec.reconnects} reconnections after a drop or a "
        f"restart; {rec.drops} drops and {rec.reloads} reloads by people). Form posts: "
        f"{rec.posts}, of which {len(rec.acked)} acknowledged writes with a submission id; "
        f"{rec.retried} needed a retry ({retry}); refused: {refused}. "
        f"Steps whose answer was lost as the server went, refused when tried again since they "
        f"had been done (taken as done): {len(rec.done_unanswered)}"
        f"{': ' if rec.done_unanswered else ''}{'; '.join(rec.done_unanswered[:5])}.",
        f"Minutes per learner and item, the server's against the harness's record: the "
        f"difference's median {md(50)}, p99 {md(99)}, largest {md(100)} course minutes "
        f"(each spell edge may be off by {EDGE_WALL_S} s of wall time, "
        f"{EDGE_WALL_S * r['speed'] / 60:.2f} course minutes at this speed, besides the time "
        f"within which the harness saw the server record it).",
        f"Turns in the hot seat: {sum(turns)} ({statistics.median(turns) if turns else 0:g} per "
        f"learner, the fewest {min(turns, default=0)}; {few} learners with fewer than two). "
        f"Evaluations: {', '.join(f'{k} {v}' for k, v in sorted(rec.evaluations.items()))} "
        f"of {len(learners)} learners "
        f"({len(r['leaves_early'])} left the last day early). Credit claims: {len(rec.claims)}.",
        f"Sampled pages compared with a fresh load: {rec.samples}, of which "
        f"{len(rec.hushed)} did not meet it while the course moved and were compared again at "
        f"a quiet moment (everyone holding their next action, {rec.hushed_s:.1f} s of wall time "
        f"in all){': ' if rec.hushed else ''}{'; '.join(rec.hushed[:5])}.",
        f"After the last day: stopped with SIGTERM "
        f"{'cleanly' if r['stopped_cleanly'] else 'WITH A TRACEBACK'}; a cold start on the "
        f"whole log ({len(r['log'])} events) answered in {r['cold_start_s']:.2f} s, and then "
        f"every one of the {r['people']} pages had its snapshot within "
        f"{r['pages_served_s']:.2f} s; it then held {r['cold_rss_mib']:.0f} MiB.",
        "",
        "| invariant | violations | checked |",
        "|---|---|---|",
    ]
    for name, (bad, of, _) in r["checks"].items():
        out.append(f"| {name} | {bad} | {of} |")
    errors = r["errors"]
    out.append(f"| no server error in the logs | {len(errors)} | {len(r['per_day'])} days |")
    out.append(
        f"| server memory at the end within {MEMORY_BOUND_MIB} MiB a process of a cold start "
        f"on its log | {memory_growth(r)} | {r['processes']} process(es) |"
    )
    firsts = [f"  - {name}: {x}" for name, (_, _, xs) in r["checks"].items() for x in xs]
    if firsts or errors:
        out += ["", "First violations:", "", *firsts, *[f"  - log: {e[:200]}" for e in errors[:5]]]
    if rec.slow_posts:
        out += ["", f"Posts that took over a second: {len(rec.slow_posts)}", ""]
        out += [f"  - {x}" for x in rec.slow_posts[:8]]
    if rec.refusals:
        out += ["", "First refusals:", "", *[f"  - {x}" for x in rec.refusals[:5]]]
    return [*out, ""]


def day_of(at: datetime) -> int:
    for d in range(1, SCHEDULE.course.days + 1):
        if SCHEDULE.day_items(d)[0].start.date() == at.date():
            return d
    return 0


def write_report(results: list[dict[str, Any]], path: Path, command: str) -> None:
    lines = [
        "# The course rehearsed",
        "",
        f"Command: `{command}`. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {os.cpu_count()} cores. Harness and server share the machine.",
        "",
        " ".join((__doc__ or "").split("\n\n")[2:5]).replace("\n", " "),
        "",
    ]
    for r in results:
        lines += section(r)
    path.write_text("\n".join(lines))


# What a server holds beyond its state after three days of pages opening and closing, posts
# and pushes: a fresh start on the same log, with every page open, holds the state itself.
MEMORY_BOUND_MIB = 48


def memory_growth(r: dict[str, Any]) -> int:
    """1 if the server's memory at the course's end exceeds a cold start's on the same log by
    more than the bound for each of its processes (memory kept that the state does not need)."""
    rss = r["rec"].rss
    end = rss[max(rss)][-1] if rss else 0.0
    return int(end - r["cold_rss_mib"] > MEMORY_BOUND_MIB * r["processes"])


def violations(results: list[dict[str, Any]]) -> int:
    return sum(
        sum(bad for bad, _, _ in r["checks"].values()) + len(r["errors"]) + memory_growth(r)
        for r in results
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.rehearsal", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="Day 2's morning for 40 learners at 240x, on both deployments (the test suite)",
    )
    ap.add_argument("--learners", type=int)
    ap.add_argument("--speed", type=float)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--only", choices=["sqlite", "redis"])
    ap.add_argument("--days", help="course days to run, e.g. 2 or 1,3 (all three by default)")
    ap.add_argument("--output", default=str(ROOT / "docs" / "rehearsal.md"))
    args = ap.parse_args(argv)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    learners = args.learners or (40 if args.quick else 130)
    speed = args.speed or (240.0 if args.quick else 90.0)
    days = [2] if args.quick else [1, 2, 3]
    if args.days:
        try:
            days = sorted({int(d) for d in args.days.split(",")})
        except ValueError:
            ap.error(f"--days {args.days!r}: course days by number, e.g. 2 or 1,3")
        if not set(days) <= {1, 2, 3}:
            ap.error(f"--days {args.days!r}: the course has days 1, 2 and 3")
    kinds = {"sqlite": OneProcess, "redis": TwoWorkers}
    chosen = [kinds[args.only]] if args.only else list(kinds.values())
    until = QUICK_UNTIL if args.quick else None
    results = [asyncio.run(rehearse(k, learners, days, speed, args.seed, until)) for k in chosen]
    command = (
        "uv run python -m bench.rehearsal"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    write_report(results, Path(args.output), command.strip())
    bad = violations(results)
    print(f"{Path(args.output)}: {bad} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
