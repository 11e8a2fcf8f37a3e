"""The Starlette application: settings, the lifespan that owns the store and the course service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.access.links import SESSION_COOKIE, Signer
from server.access.sessions import AmbiguousSession, session_cookie, verified_person
from server.content.cases import ROLEPLAYS, load_library
from server.content.course import COURSE_FILE, load_course
from server.content.instruments import load_evaluations, load_instruments
from server.domain.agenda import Course
from server.domain.people import PeopleState, Person
from server.domain.roles import Role
from server.domain.rooms import RoomsState
from server.live.endpoint import LIVE_PATH, RateLimit, live
from server.media.ice import IceSettings
from server.service.clock import Clock, RehearsalClock
from server.service.course import CourseService
from server.store import open_store
from server.web.pages.media import routes as media_routes
from server.web.pages.reflections import routes as reflect_routes
from server.web.pages.views import routes

log = logging.getLogger("companion")

DEFAULT_STORE = "sqlite:///data/companion.db"


@dataclass
class Settings:
    store_url: str = field(default_factory=lambda: os.environ.get("COMPANION_STORE", DEFAULT_STORE))
    course_file: Path = COURSE_FILE
    secret: str = ""
    clock: Clock = field(default_factory=Clock)
    course: Course | None = None
    public_url: str = ""
    on_ready: Callable[[CourseService, Signer], None] | None = None
    roster: str | None = None  # a roster CSV imported at start (the demo's)
    scenarios_dir: Path | None = None  # role-play cases (default scenarios/roleplays)
    simulate: bool = False  # the demo's simulated participants
    media: bool = True  # built-in audio and video in every room
    ice: IceSettings = field(default_factory=IceSettings)
    recordings_dir: Path = Path("data/recordings")
    retention_days: float = 14.0  # recordings are deleted this long after they end (0: never)
    collector: bool = False  # full garbage-collection passes between agenda bursts (collector.py)
    supervisor: int | None = None  # a worker's parent: when it is gone, the worker stops too


class SameOriginPosts:
    """Form posts must come from our own pages: refuse a cross-site POST (CSRF)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            site = headers.get(b"sec-fetch-site", b"").decode()
            origin = headers.get(b"origin", b"").decode()
            host = headers.get(b"host", b"").decode()
            cross = site == "cross-site" or (origin and origin.split("://", 1)[-1] != host)
            if cross:
                response = PlainTextResponse("Cross-site form posts are refused.", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


POST_RATE = 10.0  # form posts per second a person may send, sustained
POST_BURST = 60.0  # and at once: a page resending its queue after a drop fits
POST_KEYS = 20000  # people and addresses remembered; the oldest are forgotten first


class SessionGuard:
    """Every request carries at most one session cookie (several are refused: which would speak
    for it?), and form posts are limited per person whose session verifies, per address for
    anyone else: a script hammering the server gets 429 and waits, however it dresses its
    cookies, and cannot crowd out everyone else's posts. Pages resend 429s later by themselves
    (durable.js)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buckets: OrderedDict[str, RateLimit] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            cookie = session_cookie(scope["headers"])
        except AmbiguousSession:
            response = PlainTextResponse(
                "This request carried two sessions for this site, so it was refused. Open your "
                "personal link again to sign in.",
                400,
            )
            response.delete_cookie(SESSION_COOKIE)
            await response(scope, receive, send)
            return
        if scope["method"] == "POST" and not self._allow(scope, cookie):
            response = PlainTextResponse(
                "Too many requests from this page; wait a moment and try again.",
                429,
                headers={"retry-after": "1"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allow(self, scope: Scope, cookie: str | None) -> bool:
        signer = getattr(scope["app"].state, "signer", None)
        person = verified_person(signer, cookie) if signer is not None else None
        client = scope.get("client")
        key = "p:" + person if person else "a:" + str(client[0] if client else "?")
        bucket = self.buckets.pop(key, None) or RateLimit(POST_RATE, POST_BURST)
        self.buckets[key] = bucket
        while len(self.buckets) > POST_KEYS:
            self.buckets.popitem(last=False)
        return bucket.allow()


async def import_roster_file(service: CourseService, path: Path) -> None:
    from server.domain.people_rules import ImportRoster
    from server.domain.roles import CLI_ACTOR
    from server.domain.roster import parse_roster

    roster = parse_roster(path.read_text(encoding="utf-8-sig"))
    for problem in roster.problems:
        log.warning("%s:%s (not imported)", path, problem)
    await service.execute(ImportRoster(tuple(roster.registrations)), CLI_ACTOR)


# htmx 4 runs under this policy: no inline scripts or styles, no eval (we use no hx-on or js:
# values), and its indicator stylesheet is turned off in base.html.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Join links carry a token in the path: never leak a page address to another site.
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class CompanionApp(Starlette):
    """The live socket goes straight to its endpoint. It stays open all day on every page, and
    each layer of the middleware chain and router would keep its own suspended frames for it
    (about 4.5 KiB per page, measured with tracemalloc); none of them acts on a WebSocket: the
    security headers and post checks are for HTTP, and the endpoint checks Origin itself."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == LIVE_PATH:
            scope["app"] = self
            await live(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    course = settings.course or load_course(settings.course_file)
    library = load_library(settings.scenarios_dir or ROLEPLAYS)  # refuse to start on a bad case
    instruments = load_instruments()
    evaluations = load_evaluations()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.store_url)
        await store.open()
        service = CourseService(course, store, settings.clock)
        service.library = library
        service.instruments = instruments
        service.evaluations = evaluations
        await service.start()
        if settings.roster:
            await import_roster_file(service, Path(settings.roster))
            if not service.state.rooms.groups:  # the demo starts with its groups formed
                from server.domain.roles import CLI_ACTOR
                from server.domain.rooms import AssignGroups

                await service.execute(AssignGroups(seed=1), CLI_ACTOR)
        app.state.service = service
        app.state.signer = Signer(settings.secret)
        from server.media.recording import Recorder

        recorder = Recorder(service, settings.recordings_dir, settings.retention_days)
        recorder.start()
        app.state.recorder = recorder
        media = None
        if settings.media:
            from server.media.hub import MediaHub

            media = MediaHub(service, settings.ice, recorder)
            media.start()
        app.state.media = media
        collector = None
        if settings.collector:
            from server.service.collector import Collector

            collector = Collector(service.seconds_to_next_move, service.seconds_since_push)
            collector.start()
        app.state.collector = collector
        if settings.on_ready:
            settings.on_ready(service, app.state.signer)
        watch = None
        if settings.supervisor is not None:
            watch = asyncio.create_task(outlive_not(settings.supervisor), name="supervisor")
        sim_task = None
        if settings.simulate:
            from server.demo.sim import Simulation

            people = example_people(service.state.people, service.state.rooms)
            spare = frozenset(p.id for p in people)
            sim_task = asyncio.create_task(Simulation(service, spare).run(), name="simulation")
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            if sim_task is not None:
                sim_task.cancel()
                await asyncio.wait([sim_task], timeout=5)
            if media is not None:
                await media.stop()
            if collector is not None:
                await collector.stop()
            await recorder.stop()
            await service.stop()
            await store.close()

    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        log.exception("unhandled error", exc_info=exc)
        return PlainTextResponse("Something went wrong on the server; please try again.", 500)

    return CompanionApp(
        routes=[*media_routes, *reflect_routes, *routes],
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SameOriginPosts),
            Middleware(SessionGuard),
        ],
        exception_handlers={500: server_error},
    )


SUPERVISOR_CHECK = 1.0  # seconds between a worker's looks at its parent


async def outlive_not(supervisor: int) -> None:
    """A worker of `companion serve --workers N` stops (as on SIGTERM: pages closed, leaves
    recorded) once the process that started it is gone: killed outright or crashed, it can no
    longer stop its workers, and they would go on serving and holding the port unsupervised."""
    while os.getppid() == supervisor:
        await asyncio.sleep(SUPERVISOR_CHECK)
    log.warning("the supervising process %d is gone; this worker stops", supervisor)
    os.kill(os.getpid(), signal.SIGTERM)


def app_from_env() -> Starlette:
    """The app for each of several uvicorn workers (`companion serve --workers N`), configured by
    the environment that the parent process set."""
    import argparse
    from datetime import date, datetime

    from server.cli import _media_settings

    env = os.environ
    clock: Clock = Clock()
    if env.get("COMPANION_REHEARSAL_START"):
        clock = RehearsalClock.started_at(
            datetime.fromisoformat(env["COMPANION_REHEARSAL_START"]),
            float(env.get("COMPANION_REHEARSAL_SPEED", "1")),
            float(env["COMPANION_REHEARSAL_EPOCH"]),
        )
    first = env.get("COMPANION_START_DATE")
    course = load_course(
        Path(env.get("COMPANION_COURSE_FILE", str(COURSE_FILE))),
        date.fromisoformat(first) if first else None,
    )
    return create_app(
        Settings(
            store_url=env["COMPANION_STORE"],
            secret=env["COMPANION_SECRET"],
            clock=clock,
            course=course,
            collector=True,
            supervisor=int(env["COMPANION_SUPERVISOR"]) if "COMPANION_SUPERVISOR" in env else None,
            **_media_settings(argparse.Namespace()),
        )
    )


def example_people(people: PeopleState, rooms: RoomsState | None = None) -> list[Person]:
    """Every course director and one of each other role: the links the console prints, and the
    people the demo's simulation leaves for a real person to drive. The SP and the learner come
    from another group than the facilitator's, so their pages move by themselves."""
    out: list[Person] = list(people.of_role(Role.DIRECTOR))
    facilitators = people.of_role(Role.FACILITATOR)
    out += facilitators[:1]
    first = facilitators[0].id if facilitators else None
    for role in (Role.SP, Role.LEARNER):
        members = people.of_role(role)
        elsewhere = [
            p
            for p in members
            if rooms is not None
            and (g := rooms.group_of(p.id)) is not None
            and g.facilitator not in (None, first)
        ]
        out += (elsewhere or members)[:1]
    return out


def person_link(signer: Signer, base_url: str, person: Person) -> str:
    """The personal join link of `person` (its current version)."""
    return f"{base_url.rstrip('/')}/join/{signer.link_token(person.id, person.link_version)}"
