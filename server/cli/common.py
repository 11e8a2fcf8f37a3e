"""What every command shares: parsing dates and instants, the course, the key, the clock, a
course service over the log without a web server."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from server.config import UsageError, store_url
from server.content.course import load_course
from server.service.clock import Clock, RehearsalClock


def parse_instant(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise UsageError(f"{what}: {text!r} needs a UTC offset or Z (e.g. 2026-05-13T14:00:00Z)")
    return value.astimezone(UTC)


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from None


def course_of(args: argparse.Namespace) -> Any:
    first = parse_date(args.start_date, "--start-date") if args.start_date else None
    return load_course(Path(args.course), first)


def signing_key(args: argparse.Namespace) -> str:
    """The key that signs links and sessions (server/access/keys.py)."""
    from server.access.keys import KeyProblem, signing_secret

    try:
        return signing_secret(getattr(args, "key_file", None))
    except KeyProblem as e:
        raise UsageError(str(e)) from None


def clock_of(args: argparse.Namespace) -> Clock:
    if args.rehearsal_start:
        return RehearsalClock(parse_instant(args.rehearsal_start, "--rehearsal-start"), args.speed)
    if args.speed != 1.0:
        raise UsageError("--speed needs --rehearsal-start (real time always runs at speed 1)")
    return Clock()


async def load_service(args: argparse.Namespace, url: str | None = None) -> Any:
    """A course service with the whole log replayed (its store is closed again)."""
    return await with_service(args, _loaded, url)


async def people_on_log(
    args: argparse.Namespace, url: str, key: bytes | None = None
) -> tuple[Any, datetime | None]:
    """Everyone registered on the log, their links as they stand (the people's own events
    folded, without replaying the rest of the course: what printing links needs), and the
    course time the log has reached; from the snapshot kept beside the log if it can be trusted
    with `key` (server/service/snapshots.py), and the events after it."""
    from server.domain.agenda import build_schedule
    from server.domain.people import PeopleState
    from server.domain.people_rules import REGISTRY_EVENTS, apply_people
    from server.domain.rehearsal import course_time_reached
    from server.service.snapshots import trusted
    from server.store import open_store

    course = course_of(args)
    store = open_store(url)
    people, reached, seq = PeopleState(), None, 0
    await store.open()
    try:
        snap = await trusted(store, course.id, key)
        if snap is not None:
            people, reached, seq = snap.state.people, snap.reached, snap.seq
        events = await store.read(course.id, seq)
    finally:
        await store.close()
    for e in events:
        if e.type in REGISTRY_EVENTS:
            people = apply_people(people, e)
    times = [*([reached] if reached else []), *(e.at for e in events)]
    return people, course_time_reached(times, build_schedule(course))


async def _loaded(service: Any) -> Any:
    return service


async def execute(args: argparse.Namespace, command: Any) -> Any:
    """Decide and record `command` as the command line (the course's own actor)."""
    from server.domain.roles import CLI_ACTOR

    return await with_service(args, lambda service: service.execute(command, CLI_ACTOR))


async def with_service(args: argparse.Namespace, act: Any, url: str | None = None) -> Any:
    """Open the log (`url`, else the command's --store), replay it, `await act(service)`,
    close the log: the same writer the server uses, without a web server."""
    from server.service.course import CourseService
    from server.store import open_store

    store = open_store(url or store_url(args))
    await store.open()
    try:
        service = CourseService(course_of(args), store, Clock())
        await service.load()
        return await act(service)
    finally:
        await store.close()


def read_roster(path: str) -> Any:
    from server.domain.roster import parse_roster

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    return parse_roster(text)
