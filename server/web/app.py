"""The Starlette application: settings, the lifespan that owns the store and the course service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server.access.links import Signer
from server.config import Settings
from server.content.cases import ROLEPLAYS
from server.content.course import COURSE_FILE, load_course
from server.content.instruments import check_forms, load_evaluations
from server.content.shelf import case_shelf, instrument_shelf
from server.service.clock import Clock, RehearsalClock
from server.service.course import CourseService
from server.service.snapshots import snapshot_key
from server.service.stall import StallWatch
from server.store import open_store
from server.web.live import LIVE_PATH, live
from server.web.middleware import SameOriginPosts, SecurityHeaders, SessionGuard
from server.web.routes import routes

log = logging.getLogger("companion")


async def import_roster_file(service: CourseService, path: Path) -> None:
    from server.domain.people_rules import ImportRoster
    from server.domain.roles import CLI_ACTOR
    from server.domain.roster import parse_roster

    roster = parse_roster(path.read_text(encoding="utf-8-sig"))
    for problem in roster.problems:
        log.warning("%s:%s (not imported)", path, problem)
    await service.execute(ImportRoster(tuple(roster.registrations)), CLI_ACTOR)


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
    """The app for `settings` (server/config.py)."""
    course = settings.course or load_course(settings.course_file)
    folder = settings.scenarios_dir or ROLEPLAYS
    library = case_shelf(folder)  # refuse to start on a bad case
    instruments = instrument_shelf()
    check_forms(library, instruments, folder)
    evaluations = load_evaluations(course=course)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.store_url)
        await store.open()
        key = snapshot_key(settings.secret)
        service = CourseService(course, store, settings.clock, snapshot_key=key)
        # the shelves follow the log: versions published in the browser over the files
        library.source = instruments.source = lambda: service.state.authoring
        service.library = library
        service.instruments = instruments
        service.evaluations = evaluations
        await service.start()
        stall = StallWatch()
        stall.start()
        if settings.roster:
            await import_roster_file(service, Path(settings.roster))
            if not service.state.rooms.groups:  # the demo starts with its groups formed
                from server.domain.groups.membership import AssignGroups
                from server.domain.roles import CLI_ACTOR

                await service.execute(AssignGroups(seed=1), CLI_ACTOR)
        app.state.service = service
        app.state.signer = Signer(settings.secret)
        from server.media.recording import Recorder

        recorder = Recorder(service, settings.recordings_dir, settings.retention_days)
        recorder.start()
        app.state.recorder = recorder
        media = None
        if settings.media:
            from server.media.engine import make_engine

            media = make_engine(settings, service, recorder)
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
        sim_task = sim = None
        if settings.simulate:
            from server.demo.people import example_people
            from server.demo.sim import Simulation

            people = example_people(service.state.people, service.state.rooms)
            spare = frozenset(p.id for p in people)
            sim = Simulation(service, spare)
            sim_task = asyncio.create_task(sim.run(), name="simulation")
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            if sim_task is not None and sim is not None:
                sim_task.cancel()
                await asyncio.wait([sim_task], timeout=5)
                await asyncio.wait_for(sim.leave_all(), timeout=10)
            if media is not None:
                await media.stop()
            if collector is not None:
                await collector.stop()
            await recorder.stop()
            await service.stop()
            await store.close()
            await stall.stop()

    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        log.exception("unhandled error", exc_info=exc)
        return PlainTextResponse("Something went wrong on the server; please try again.", 500)

    return CompanionApp(
        routes=routes,
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

    from server.config import media_settings

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
            **media_settings(argparse.Namespace()),
        )
    )
