"""`companion serve` and `companion demo`: one process, or several workers on one Redis log."""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.cli.common import (
    clock_of,
    course_of,
    parse_instant,
    people_on_log,
    signing_key,
)
from server.config import UsageError, media_settings, store_url, uvicorn_options
from server.content.course import SCENARIOS
from server.domain.agenda import build_schedule
from server.service.clock import Clock, RehearsalClock

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
        if isinstance(clock, RehearsalClock):
            print(f"  Now:       {service.schedule.local(clock.now()):%A %-d %B %H:%M %Z}")
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
    from server.service.snapshots import snapshot_key

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
    people, reached = asyncio.run(people_on_log(args, store, snapshot_key(secret)))
    if args.rehearsal_start:
        # Every worker starts its rehearsal clock from one time: where this log already is,
        # if a rehearsal on it had got further (course time never runs backwards in a log).
        start = parse_instant(args.rehearsal_start, "--rehearsal-start")
        if reached is not None and reached > start:
            start = reached
            print(f"  The rehearsal goes on from {start.isoformat()}, where this log already is.")
        os.environ.update(
            COMPANION_REHEARSAL_START=start.isoformat(),
            COMPANION_REHEARSAL_SPEED=str(args.speed),
            COMPANION_REHEARSAL_EPOCH=str(time.time()),
        )
    print(banner)
    print(f"  Workers:   {workers} on {store}")
    print(f"  Agenda:    {base}/")
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
    return serve(args, clock_of(args), store_url(args), "Session Companion is running.")


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
        # The course clock goes on from where the last run stopped, never back.
        print(f"Continuing the demo course kept in {data} (`--fresh` starts it again).")
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
