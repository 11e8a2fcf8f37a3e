"""`companion`: serve the live course, run the demo, print the agenda."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from server.content.course import COURSE_FILE, SCENARIOS, load_course
from server.content.files import ContentError
from server.domain.agenda import Schedule, build_schedule, item_summary, utc_z
from server.domain.errors import DomainError
from server.service.clock import Clock, RehearsalClock
from server.store import StoreError

DEMO_ROSTER = SCENARIOS / "demo" / "roster.csv"


class UsageError(Exception):
    """A command-line value that cannot be used; the message says which and why."""


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


def _course(args: argparse.Namespace) -> Any:
    first = parse_date(args.start_date, "--start-date") if args.start_date else None
    return load_course(Path(args.course), first)


# --- agenda --------------------------------------------------------------------------------------


def agenda_snapshot(schedule: Schedule, now: datetime) -> dict[str, Any]:
    cur, nxt = schedule.current(now), schedule.next(now)
    return {
        "now": utc_z(now),
        "timezone": schedule.course.timezone,
        "current": item_summary(schedule, cur) if cur else None,
        "next": item_summary(schedule, nxt) if nxt else None,
    }


def cmd_agenda(args: argparse.Namespace) -> int:
    schedule = build_schedule(_course(args))
    if args.ics:
        from server.reports.calendar import agenda_ics

        Path(args.ics).write_bytes(agenda_ics(schedule))
        print(f"Wrote {len(schedule.items)} agenda items to {args.ics}")
        return 0
    now = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    snap = agenda_snapshot(schedule, now)
    if args.json:
        print(json.dumps(snap, indent=2, ensure_ascii=False))
        return 0
    tz = schedule.tz
    print(f"{schedule.course.title} — times in {schedule.course.timezone}")
    for n in range(1, schedule.course.days + 1):
        print(f"\nDay {n}  {schedule.day_date(n):%A, %B %d, %Y}")
        for s in schedule.day_items(n):
            mark = "▶" if s.contains(now) else " "
            start, end = s.start.astimezone(tz), s.end.astimezone(tz)
            print(f" {mark} {start:%H:%M}–{end:%H:%M} {start:%Z}  {s.item.title}  [{s.item.kind}]")
    print()
    for label in ("current", "next"):
        item = snap[label]
        text = f"{item['title']}  {item['start_local']}" if item else "—"
        print(f"{label.capitalize():8} {text}")
    return 0


# --- serve / demo --------------------------------------------------------------------------------


def _serve(args: argparse.Namespace, clock: Clock, store_url: str, banner: str) -> int:
    import uvicorn

    from server.web.app import Settings, create_app

    course = _course(args)
    secret = _secret(args)
    base_url = f"http://{args.host}:{args.port}"
    roster = getattr(args, "roster", None)
    simulate = getattr(args, "simulate", False)

    def on_ready(service: Any, signer: Any) -> None:
        print(banner)
        print(f"  Course:    {course.title} ({clock.describe()})")
        print(f"  Agenda:    {base_url}/")
        print_role_links(service.state.people, signer, base_url, service.state.rooms)
        print("  Stop with Ctrl-C.", flush=True)

    workers = getattr(args, "workers", 1)
    if workers > 1:
        return _serve_workers(args, workers, store_url, secret, banner, base_url)
    settings = Settings(
        store_url=store_url,
        secret=secret,
        clock=clock,
        course=course,
        on_ready=on_ready,
        roster=roster,
        simulate=simulate,
        collector=True,
        **_media_settings(args),
    )
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        ws_max_size=WS_MAX_SIZE,
        ws=ws_protocol(),
        http=http_protocol(),
        ws_per_message_deflate=WS_DEFLATE,
        ws_ping_interval=PING_SECONDS,
        ws_ping_timeout=PING_SECONDS,
        log_level="warning",
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


def _serve_workers(
    args: argparse.Namespace, workers: int, store_url: str, secret: str, banner: str, base: str
) -> int:
    """Several uvicorn worker processes on one port, sharing the course through Redis."""
    import time

    import uvicorn

    from server.access.links import Signer

    if not store_url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError("--workers above 1 needs a shared store: --store redis://HOST:PORT/DB")
    # Built-in media relays within one process: pages of one room on different workers would
    # not see each other, so several workers serve rooms through their meeting links instead.
    os.environ["COMPANION_NO_MEDIA"] = "1"
    print("  Built-in audio/video is off with several workers; set meeting links on the rooms.")
    os.environ.update(
        COMPANION_STORE=store_url,
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
    print(f"  Workers:   {workers} on {store_url}")
    print(f"  Agenda:    {base}/")
    people = asyncio.run(_load(args, store_url)).state.people
    print_role_links(people, Signer(secret), base)
    uvicorn.run(
        "server.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=args.host,
        port=args.port,
        ws_max_size=WS_MAX_SIZE,
        ws=ws_protocol(),
        http=http_protocol(),
        ws_per_message_deflate=WS_DEFLATE,
        ws_ping_interval=PING_SECONDS,
        ws_ping_timeout=PING_SECONDS,
        log_level="warning",
    )
    return 0


WS_MAX_SIZE = 128 * 1024  # a page's SDP offer with many receiving slots
# Per-message compression off by default: pages get small partials, and compressing each
# connection's copy separately costs CPU at every boundary and ~45 KiB of zlib state per page.
WS_DEFLATE = os.environ.get("COMPANION_WS_DEFLATE", "0") == "1"


def http_protocol() -> Any:
    """uvicorn's `http` setting: its httptools protocol, freed as soon as a page's socket takes
    over (server/live/socket.py)."""
    from server.live.socket import LeanHttpProtocol

    return LeanHttpProtocol


def ws_protocol() -> Any:
    """uvicorn's `ws` setting: its sans-I/O protocol on the `websockets` library, made leaner
    (server/live/socket.py). COMPANION_WS_IMPL names one of uvicorn's own instead
    (`websockets-sansio`, `websockets`), for comparison."""
    from server.live.socket import LeanWebSocketProtocol

    return os.environ.get("COMPANION_WS_IMPL") or LeanWebSocketProtocol


def _media_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings for the built-in audio and video, from options or the environment."""
    from server.media.ice import (
        IceConfigError,
        IceSettings,
        parse_addresses,
        parse_ports,
        parse_servers,
    )

    def pick(name: str, env: str) -> str:
        value = getattr(args, name, None)
        return str(value if value is not None else os.environ.get(env, ""))

    try:
        ice = IceSettings(
            servers=parse_servers(pick("ice_servers", "COMPANION_ICE_SERVERS")),
            addresses=parse_addresses(pick("media_addresses", "COMPANION_MEDIA_ADDRESSES")),
            ports=parse_ports(pick("udp_ports", "COMPANION_UDP_PORTS")),
        )
    except IceConfigError as e:
        raise UsageError(str(e)) from None
    off = getattr(args, "no_media", False) or os.environ.get("COMPANION_NO_MEDIA") == "1"
    out: dict[str, Any] = {"ice": ice, "media": not off}
    recordings = pick("recordings", "COMPANION_RECORDINGS")
    if recordings:
        out["recordings_dir"] = Path(recordings)
    days = pick("retention_days", "COMPANION_RETENTION_DAYS")
    if days:
        try:
            out["retention_days"] = float(days)
        except ValueError:
            raise UsageError(f"--retention-days must be a number of days, not {days!r}") from None
        if out["retention_days"] < 0:
            raise UsageError("--retention-days cannot be negative (0 keeps recordings)")
    return out


DEFAULT_KEY_FILE = Path("data") / "secret.key"


def key_path(args: argparse.Namespace) -> Path:
    """Where the signing key is kept: --key-file, $COMPANION_KEY_FILE, or data/secret.key."""
    given = getattr(args, "key_file", None) or os.environ.get("COMPANION_KEY_FILE")
    return Path(given) if given else DEFAULT_KEY_FILE


def _secret(args: argparse.Namespace) -> str:
    """The key that signs links and sessions. Several workers or hosts must share one: set
    COMPANION_SECRET for them all; otherwise it is the key file (made on first use)."""
    from server.access.links import KeyProblem, load_or_create_secret, secret_from_env

    try:
        env = os.environ.get("COMPANION_SECRET")
        return secret_from_env(env) if env else load_or_create_secret(key_path(args))
    except KeyProblem as e:
        raise UsageError(str(e)) from None


def cmd_key_rotate(args: argparse.Namespace) -> int:
    """A new signing key: every personal link and session made with the old one stops working."""
    from server.access.links import GIT_PROBLEMS, git_exposure, write_new_key

    if os.environ.get("COMPANION_SECRET"):
        raise UsageError(
            "the key comes from COMPANION_SECRET here: give it a new random value on every "
            "worker and restart them (every link changes)"
        )
    path = key_path(args)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if git_exposure(path) == "not ignored":
        raise UsageError(GIT_PROBLEMS["not ignored"].format(path=path))
    path.with_name(path.name + ".new").unlink(missing_ok=True)  # left by an interrupted rotation
    write_new_key(path, replace=True)
    print(f"Wrote a new signing key to {path}. Every personal link and session has changed:")
    print("restart the server, then send people their new links (`companion links`).")
    return 0


def print_role_links(people: Any, signer: Any, base_url: str, rooms: Any = None) -> None:
    """Every course director's link, and one example link for each other role."""
    from server.domain.roles import ROLE_LABELS
    from server.web.app import example_people, person_link

    if not people.by_id:
        print("  No people yet: `companion roster import FILE`, then `companion links`.")
        return
    for p in example_people(people, rooms):
        label = ROLE_LABELS[p.role].capitalize()
        print(f"  {label + ':':26} {p.name:24} {person_link(signer, base_url, p)}")
    print(f"  ({len(people.by_id)} people; `companion links` prints every link.)")


def _clock(args: argparse.Namespace) -> Clock:
    if args.rehearsal_start:
        return RehearsalClock(parse_instant(args.rehearsal_start, "--rehearsal-start"), args.speed)
    if args.speed != 1.0:
        raise UsageError("--speed needs --rehearsal-start (real time always runs at speed 1)")
    return Clock()


DEFAULT_STORE = "sqlite:///data/companion.db"
# Pages are pinged this often; one that does not answer within as long again has gone (a closed
# laptop, a dropped network) and its leave is recorded.
PING_SECONDS = float(os.environ.get("COMPANION_WS_PING", "15"))


def _store_url(args: argparse.Namespace) -> str:
    return str(args.store or os.environ.get("COMPANION_STORE") or DEFAULT_STORE)


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(args, _clock(args), _store_url(args), "Session Companion is running.")


# --- offline commands: the same writer, without a web server -------------------------------


async def _load(args: argparse.Namespace, store_url: str | None = None) -> Any:
    """A course service with the whole log replayed (its store is closed again)."""
    from server.service.course import CourseService
    from server.store import open_store

    store = open_store(store_url or _store_url(args))
    await store.open()
    try:
        service = CourseService(_course(args), store, Clock())
        await service.load()
        return service
    finally:
        await store.close()


async def _execute(args: argparse.Namespace, command: Any) -> Any:
    from server.domain.roles import CLI_ACTOR

    return await _with_service(args, lambda service: service.execute(command, CLI_ACTOR))


async def _with_service(args: argparse.Namespace, act: Any) -> Any:
    """Open the log, replay it, `await act(service)`, close the log."""
    from server.service.course import CourseService
    from server.store import open_store

    store = open_store(_store_url(args))
    await store.open()
    try:
        service = CourseService(_course(args), store, Clock())
        await service.load()
        return await act(service)
    finally:
        await store.close()


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one person's data (see server/domain/erasure.py for what that means)."""
    from server.domain.roles import CLI_ACTOR

    async def erase(service: Any) -> str:
        pid = service.state.people.id_of(args.email) or ""
        p = service.state.people.get(pid)
        if p is None or p.erased:
            raise UsageError(f"nobody with the email {args.email!r} is on this course")
        if not args.yes:
            raise UsageError(
                f"this erases everything the course holds of {p.name} <{p.reg.email}> and "
                "cannot be undone; export it first (companion export person) and add --yes"
            )
        new: str = await service.erase_person(pid, CLI_ACTOR)
        return new

    new = asyncio.run(_with_service(args, erase))
    print(f"Erased {args.email}'s data; the course now shows an erased participant ({new}).")
    print("Remove them from the registration list too, or the next import registers them again.")
    return 0


def _read_roster(path: str) -> Any:
    from server.domain.roster import parse_roster

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    return parse_roster(text)


def cmd_roster_check(args: argparse.Namespace) -> int:
    roster = _read_roster(args.file)
    for problem in roster.problems:
        print(f"{args.file}:{problem}")
    print(f"{len(roster.rows)} good rows, {len(roster.problems)} problems")
    return 1 if roster.problems else 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    from server.domain.people_rules import ImportRoster

    roster = _read_roster(args.file)
    for problem in roster.problems:
        print(f"{args.file}:{problem} (not imported)")
    events = asyncio.run(_execute(args, ImportRoster(tuple(roster.registrations))))
    new = sum(1 for e in events if e.type == "person.registered")
    changed = len(events) - new
    unchanged = len(roster.rows) - len(events)
    print(
        f"Imported {new} new, updated {changed}, {unchanged} unchanged; "
        f"{len(roster.problems)} bad rows not imported."
    )
    return 1 if roster.problems else 0


def cmd_links(args: argparse.Namespace) -> int:
    from server.access.links import Signer
    from server.web.app import person_link

    service = asyncio.run(_load(args))
    signer = Signer(_secret(args))
    people = sorted(
        (p for p in service.state.people.by_id.values() if not p.erased),
        key=lambda p: (p.role.value, p.name),
    )
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "email": p.reg.email,
            "role": p.role.value,
            "link": person_link(signer, args.base_url, p),
            "revoked": p.revoked,
        }
        for p in people
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for r in rows:
            state = " (revoked)" if r["revoked"] else ""
            print(f"{r['name']:28} {r['role']:12} {r['link']}{state}")
    return 0


def cmd_groups_assign(args: argparse.Namespace) -> int:
    from server.domain.groups import Settings as GroupSettings
    from server.reports.groups import as_json, assign_roster, report, zoom_csv

    roster = _read_roster(args.roster)
    for problem in roster.problems:
        print(f"{args.roster}:{problem} (left out)", file=sys.stderr)
    settings = GroupSettings(args.min_size, args.max_size, args.teams)
    assignment = assign_roster(roster.registrations, settings, args.seed)
    if args.zoom_csv:
        Path(args.zoom_csv).write_text(zoom_csv(assignment), encoding="utf-8")
    if args.json:
        print(json.dumps(as_json(assignment), indent=2, ensure_ascii=False))
    else:
        print(report(assignment))
    return 0


def cmd_scenarios_check(args: argparse.Namespace) -> int:
    from server.content.cases import ROLEPLAYS, load_library, load_scenario
    from server.content.instruments import (
        EVALUATIONS,
        INSTRUMENTS,
        load_evaluations,
        load_instrument,
        load_instruments,
    )

    path = Path(args.path) if args.path else ROLEPLAYS
    parts = path.resolve().parts
    is_instrument = INSTRUMENTS.name in parts or EVALUATIONS.name in parts
    if path.is_file():
        thing = load_instrument(path) if is_instrument else load_scenario(path)
        print(f"{path}: ok ({thing.title})")
        return 0
    if not args.path or INSTRUMENTS.name in parts:
        found = load_instruments(INSTRUMENTS if not args.path else path)
        for inst in found.values():
            print(f"ok  instrument {inst.id:32} {len(inst.items)} items")
        print(f"{len(found)} instruments valid in {INSTRUMENTS if not args.path else path}")
    if not args.path or EVALUATIONS.name in parts:
        forms = load_evaluations(EVALUATIONS if not args.path else path)
        for form in forms.values():
            print(f"ok  evaluation {form.id:32} {len(form.items)} items")
        print(f"{len(forms)} evaluation forms valid in {EVALUATIONS if not args.path else path}")
    if is_instrument:
        return 0
    cases = load_library(path)
    for s in sorted(cases.values(), key=lambda s: (s.track, s.skill.value, s.id)):
        print(f"ok  {s.track:9} {s.skill.value:45} {s.id}")
    print(f"{len(cases)} cases valid in {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from server.reports import exports

    service = asyncio.run(_load(args))
    now = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    state = service.state
    what = args.what
    if args.what == "person":
        if not args.email:
            raise UsageError("export person needs --email: whose data to export")
        try:
            pid = state.people.id_of(args.email) or ""
            record = exports.person_record(state, service.schedule, pid, now)
        except KeyError:
            raise UsageError(f"nobody with the email {args.email!r} is on this course") from None
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        what = f"{args.email}'s data"
    else:
        if args.what == "attendance":
            rows = exports.attendance_rows(state, service.schedule, now)
        elif args.what == "credits":
            rows = exports.credit_rows(state, service.schedule, now)
        elif args.what == "feedback":
            rows = exports.feedback_rows(state)
        elif args.what == "reflections":
            rows = exports.reflection_rows(state)
        else:
            rows = exports.evaluation_rows(state)
        text = exports.render(rows, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {what} to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    course = _course(args)
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
    # The demo starts the same course afresh every time: its own log goes, nothing else in
    # the folder (which may be one the user chose).
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (data / name).unlink(missing_ok=True)
    clock = RehearsalClock(start, args.speed)
    return _serve(args, clock, f"sqlite:///{data / 'demo.db'}", "Session Companion demo.")


# --- entry point ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="companion", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def course_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--course", default=str(COURSE_FILE), help="course.yaml to use")
        sp.add_argument("--start-date", help="re-base the course on another first day YYYY-MM-DD")

    def key_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--key-file",
            help="the key that signs links ($COMPANION_KEY_FILE; default data/secret.key; "
            "$COMPANION_SECRET instead, for several workers)",
        )

    def server_opts(sp: argparse.ArgumentParser, port: int) -> None:
        key_opts(sp)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=port)
        sp.add_argument("--rehearsal-start", help="run a rehearsal clock from this ISO instant")
        sp.add_argument("--speed", type=float, default=1.0, help="rehearsal clock speed factor")
        m = sp.add_argument_group("audio and video")
        m.add_argument("--no-media", action="store_true", help="no built-in audio and video")
        m.add_argument(
            "--ice-servers",
            help="STUN/TURN servers, comma-separated: stun:HOST:PORT,turn:USER:PASS@HOST:PORT "
            "($COMPANION_ICE_SERVERS)",
        )
        m.add_argument(
            "--media-addresses",
            help="local IP addresses for media, comma-separated (default: all but loopback)",
        )
        m.add_argument("--udp-ports", help="UDP port range for media, e.g. 40000-40199")
        m.add_argument("--recordings", help="folder for turn recordings (default data/recordings)")
        m.add_argument(
            "--retention-days", help="delete recordings this many days after the turn (default 14)"
        )

    a = sub.add_parser("agenda", help="print the agenda, now and next")
    course_opts(a)
    a.add_argument("--at", help="the instant to report on (ISO 8601 with offset); default now")
    a.add_argument("--json", action="store_true", help="print now/next as JSON")
    a.add_argument("--ics", metavar="FILE", help="write the agenda as an iCalendar file")
    a.set_defaults(func=cmd_agenda)

    s = sub.add_parser("serve", help="serve the live course")
    course_opts(s)
    server_opts(s, 8000)
    s.add_argument("--store", help="event log URL (default $COMPANION_STORE or ./data SQLite)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (needs Redis)")
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("roster", help="check or import the registration list (CSV)")
    rsub = r.add_subparsers(dest="roster_command", required=True)
    rc = rsub.add_parser("check", help="validate a roster CSV without importing it")
    rc.add_argument("file")
    rc.set_defaults(func=cmd_roster_check)
    ri = rsub.add_parser("import", help="import the good rows; report the bad ones")
    ri.add_argument("file")
    course_opts(ri)
    ri.add_argument("--store", help="event log URL (default $COMPANION_STORE or ./data SQLite)")
    ri.set_defaults(func=cmd_roster_import)

    li = sub.add_parser("links", help="print everyone's personal join link")
    course_opts(li)
    li.add_argument("--store", help="event log URL")
    li.add_argument("--json", action="store_true")
    li.add_argument("--base-url", default="http://127.0.0.1:8000", help="the server's address")
    key_opts(li)
    li.set_defaults(func=cmd_links)

    k = sub.add_parser("key", help="the key that signs personal links")
    ksub = k.add_subparsers(dest="key_command", required=True)
    kr = ksub.add_parser("rotate", help="make a new key: every link and session changes")
    key_opts(kr)
    kr.set_defaults(func=cmd_key_rotate)

    g = sub.add_parser("groups", help="form balanced interprofessional small groups")
    gsub = g.add_subparsers(dest="groups_command", required=True)
    ga = gsub.add_parser("assign", help="assign a roster's learners to groups")
    ga.add_argument("--roster", required=True, help="registration list (CSV)")
    ga.add_argument("--seed", type=int, default=0, help="same seed, same groups")
    ga.add_argument("--json", action="store_true")
    ga.add_argument("--zoom-csv", metavar="FILE", help="also write Zoom's pre-assignment CSV")
    ga.add_argument("--min-size", type=int, default=6)
    ga.add_argument("--max-size", type=int, default=8)
    ga.add_argument("--teams", choices=["together", "spread"], default="together")
    ga.set_defaults(func=cmd_groups_assign)

    sc = sub.add_parser("scenarios", help="the role-play case library")
    scsub = sc.add_subparsers(dest="scenarios_command", required=True)
    scc = scsub.add_parser("check", help="validate cases and instruments (a file or a folder)")
    scc.add_argument(
        "path",
        nargs="?",
        help="file or folder (default: scenarios/roleplays and scenarios/instruments)",
    )
    scc.set_defaults(func=cmd_scenarios_check)

    ex = sub.add_parser(
        "export",
        help="attendance or credits for the accreditor; feedback, shared reflections, "
        "evaluations; one person's data",
    )
    ex.add_argument(
        "what",
        choices=["attendance", "credits", "feedback", "reflections", "evaluations", "person"],
    )
    ex.add_argument("--email", help="with `person`: whose data (everything the course holds)")
    ex.add_argument("--format", choices=["csv", "json"], default="csv")
    ex.add_argument("--output", "-o", help="write to this file instead of standard output")
    ex.add_argument("--at", help="report as of this instant (default now)")
    course_opts(ex)
    ex.add_argument("--store", help="event log URL")
    ex.set_defaults(func=cmd_export)

    er = sub.add_parser("erase", help="erase one person's data from the course (cannot be undone)")
    er.add_argument("--email", required=True, help="whose data")
    er.add_argument("--yes", action="store_true", help="yes, erase it")
    course_opts(er)
    er.add_argument("--store", help="event log URL")
    er.set_defaults(func=cmd_erase)

    d = sub.add_parser("demo", help="a course already in motion on a rehearsal clock")
    course_opts(d)
    server_opts(d, 8000)
    d.set_defaults(speed=5.0)
    d.add_argument(
        "--lead-minutes",
        type=float,
        default=3.0,
        help="start this long before the first role-play practice (or Day 1 with --from-start)",
    )
    d.add_argument("--from-start", action="store_true", help="start before Day 1 instead")
    d.add_argument(
        "--no-sim",
        dest="simulate",
        action="store_false",
        help="no simulated participants: only real people act",
    )
    d.add_argument("--data", default="data/demo", help="folder for the demo's own event log")
    d.add_argument("--roster", default=str(DEMO_ROSTER), help="the demo's registration list")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (UsageError, ContentError, DomainError, StoreError, ValueError) as e:
        print(f"companion {args.command}: {e}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
