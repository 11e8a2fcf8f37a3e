"""`companion serve` and `companion demo`: one process, or several workers on one Redis log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from server.cli.common import clock_of, course_of, load_service, parse_instant, signing_key
from server.config import UsageError, media_settings, store_url, uvicorn_options
from server.content.course import SCENARIOS
from server.domain.agenda import Schedule, build_schedule
from server.service.clock import Clock, RehearsalClock
from server.store import StoreError

DEMO_ROSTER = SCENARIOS / "demo" / "roster.csv"


def serve(args: argparse.Namespace, clock: Clock, store: str, banner: str) -> int:
    import uvicorn

    from server.config import Settings
    from server.web.app import create_app

    course = course_of(args)
    secret = signing_key(args)
    base_url = base_url_of(args)
    roster = getattr(args, "roster", None)
    simulate = getattr(args, "simulate", False)

    def on_ready(service: Any, signer: Any) -> None:
        print(banner)
        print(f"  Course:    {course.title} ({clock.describe()})")
        print(f"  Agenda:    {base_url}/")
        print_role_links(service.state.people, signer, base_url, service.state.rooms)
        print(f"  Every link: companion links --base-url {base_url} --store {store}")
        print("  Stop with Ctrl-C.", flush=True)

    workers = getattr(args, "workers", 1)
    if workers > 1:
        return serve_workers(args, workers, store, secret, banner, base_url)
    settings = Settings(
        store_url=store,
        secret=secret,
        clock=clock,
        course=course,
        on_ready=on_ready,
        roster=roster,
        simulate=simulate,
        collector=True,
        **media_settings(args),
    )
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        **uvicorn_options(),
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


def serve_workers(
    args: argparse.Namespace, workers: int, store: str, secret: str, banner: str, base: str
) -> int:
    """Several uvicorn worker processes on one port, sharing the course through Redis."""
    import time

    import uvicorn

    from server.access.links import Signer

    if not store.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError("--workers above 1 needs a shared store: --store redis://HOST:PORT/DB")
    engine = media_settings(args)["engine"]
    if engine == "aiortc":
        # The embedded engine relays within one process: pages of one room on different
        # workers would not see each other, so several workers serve rooms through their
        # meeting links instead, or through Janus (--media janus://…), which they all share.
        os.environ["COMPANION_NO_MEDIA"] = "1"
        print("  Embedded audio/video is off with several workers: use --media janus://HOST:PORT")
        print("  or set meeting links on the rooms.")
    else:
        os.environ["COMPANION_MEDIA"] = engine
    os.environ.update(
        COMPANION_STORE=store,
        COMPANION_SECRET=secret,
        COMPANION_COURSE_FILE=str(Path(args.course).resolve()),
        COMPANION_SUPERVISOR=str(os.getpid()),  # the workers stop if this process is gone
    )
    if args.start_date:
        os.environ["COMPANION_START_DATE"] = args.start_date
    if args.rehearsal_start:
        os.environ.update(
            COMPANION_REHEARSAL_START=parse_instant(
                args.rehearsal_start, "--rehearsal-start"
            ).isoformat(),
            COMPANION_REHEARSAL_SPEED=str(args.speed),
            COMPANION_REHEARSAL_EPOCH=str(time.time()),
        )
    print(banner)
    print(f"  Workers:   {workers} on {store}")
    print(f"  Agenda:    {base}/")
    people = asyncio.run(load_service(args, store)).state.people
    print_role_links(people, Signer(secret), base)
    uvicorn.run(
        "server.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=args.host,
        port=args.port,
        **uvicorn_options(),
    )
    return 0


def base_url_of(args: argparse.Namespace) -> str:
    """The address people reach the server at: --base-url, $COMPANION_BASE_URL, or the one it
    listens on."""
    given = getattr(args, "base_url", None) or os.environ.get("COMPANION_BASE_URL")
    return str(given or f"http://{args.host}:{args.port}").rstrip("/")


async def _served_until(url: str, schedule: Schedule) -> datetime | None:
    """The last course time recorded on this log within the course's days (None if none):
    where a rehearsal on it had got to. Events stamped with the real time outside those days (a
    roster imported at the command line, say) are not course time."""
    from server.store import open_store

    store = open_store(url)
    await store.open()
    try:
        events = await store.read(schedule.course.id)
    finally:
        await store.close()
    first, last = schedule.items[0].start - timedelta(days=1), schedule.items[-1].end
    within = [e.at for e in events if first <= e.at <= last + timedelta(days=1)]
    return max(within) if within else None


def print_role_links(people: Any, signer: Any, base_url: str, rooms: Any = None) -> None:
    """Every course director's link, and one example link for each other role."""
    from server.access.links import person_link
    from server.demo.people import example_people
    from server.domain.roles import ROLE_LABELS

    if not people.by_id:
        print("  No people yet: `companion roster import FILE`, then `companion links`.")
        return
    for p in example_people(people, rooms):
        label = ROLE_LABELS[p.role].capitalize()
        print(f"  {label + ':':26} {p.name:24} {person_link(signer, base_url, p)}")
    print(f"  ({len(people.by_id)} people; `companion links` prints every link.)")


def cmd_serve(args: argparse.Namespace) -> int:
    store = store_url(args)
    if args.rehearsal_start:
        # Course time never runs backwards in one log: a rehearsal started again on its log
        # (after a crash, say) goes on from where the log already is, not from its start.
        start = parse_instant(args.rehearsal_start, "--rehearsal-start")
        schedule = build_schedule(course_of(args))
        reached = None
        with contextlib.suppress(StoreError, OSError):  # serve itself says what is wrong
            reached = asyncio.run(_served_until(store, schedule))
        if reached is not None and reached > start:
            args.rehearsal_start = reached.isoformat()
            local = schedule.local(reached)
            print(f"  The rehearsal goes on from {local:%A %H:%M %Z}, where this log already is.")
    return serve(args, clock_of(args), store, "Session Companion is running.")


def cmd_demo(args: argparse.Namespace) -> int:
    course = course_of(args)
    schedule = build_schedule(course)
    # A course already in motion: a few minutes before the first role-play practice (or Day 1).
    practice = [s for s in schedule if s.item.kind.value == "practice"]
    anchor = practice[0] if practice and not args.from_start else schedule.items[0]
    start = (
        parse_instant(args.rehearsal_start, "--rehearsal-start")
        if args.rehearsal_start
        else anchor.start - timedelta(minutes=args.lead_minutes)
    )
    data = Path(args.data)
    log = data / "demo.db"
    if args.fresh:
        # Only the demo's own log goes, nothing else in the folder (which may be the user's).
        for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
            (data / name).unlink(missing_ok=True)
        print(f"Starting a fresh demo course in {data}.")
    elif log.exists():
        reached = asyncio.run(_served_until(f"sqlite:///{log}", schedule))
        if reached is not None and not args.rehearsal_start:
            start = max(start, reached)  # on from where the last run stopped, never back
        print(
            f"Continuing the demo course kept in {data} from "
            f"{schedule.local(start):%A %H:%M %Z} (`--fresh` starts it again)."
        )
    clock = RehearsalClock(start, args.speed)
    return serve(args, clock, f"sqlite:///{data / 'demo.db'}", "Session Companion demo.")


def cmd_janus_config(args: argparse.Namespace) -> int:
    """Write a Janus configuration for the course's rooms into a folder."""
    from server.media.janus_conf import JanusConf, write

    secret = os.environ.get("COMPANION_JANUS_SECRET", "")
    key = os.environ.get("COMPANION_JANUS_ADMIN_KEY", "")
    if not secret or not key:
        raise UsageError(
            "janus-config needs $COMPANION_JANUS_SECRET and $COMPANION_JANUS_ADMIN_KEY "
            "(the companion is given the same two)"
        )
    lo, _, hi = args.rtp_ports.partition("-")
    if not (lo.isdigit() and hi.isdigit() and 0 < int(lo) <= int(hi) < 65536):
        raise UsageError(f"--rtp-ports must be a range such as 20000-20199, not {args.rtp_ports!r}")
    for name in ("stun", "turn"):
        value = getattr(args, name) or ""
        if value and not value.rpartition(":")[2].isdigit():
            raise UsageError(f"--{name} must be HOST:PORT, not {value!r}")
    conf = JanusConf(
        api_secret=secret,
        admin_key=key,
        ws_port=args.ws_port,
        ws_ip=args.ws_ip,
        rtp_ports=(int(lo), int(hi)),
        interfaces=args.interfaces or "",
        public_ip=args.public_ip or "",
        stun=args.stun or "",
        turn=args.turn or "",
        turn_user=os.environ.get("COMPANION_TURN_USER", "companion" if args.turn else ""),
        turn_password=os.environ.get("COMPANION_TURN_PASSWORD", ""),
    )
    folder = Path(args.folder)
    cfg = write(conf, folder)
    print(f"Wrote {cfg} and its two plugin files; start Janus with: janus -C {cfg} -F {folder}")
    return 0
