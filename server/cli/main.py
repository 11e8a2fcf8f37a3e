"""`companion`: serve the live course, run the demo, print the agenda, and the offline commands."""

from __future__ import annotations

import argparse
import os
import sys

from server.cli.content import cmd_groups_assign, cmd_scenarios_check, cmd_scenarios_export
from server.cli.people import (
    cmd_erase,
    cmd_key_rotate,
    cmd_links,
    cmd_mail,
    cmd_roster_check,
    cmd_roster_import,
)
from server.cli.reports import cmd_agenda, cmd_export
from server.cli.serve import DEMO_ROSTER, cmd_demo, cmd_janus_config, cmd_serve
from server.config import UsageError
from server.content.course import COURSE_FILE
from server.content.files import ContentError
from server.domain.errors import DomainError
from server.store import StoreError


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
        sp.add_argument(
            "--base-url",
            help="the address people reach the server at, for the links it prints "
            "($COMPANION_BASE_URL; default http://HOST:PORT)",
        )
        sp.add_argument("--port", type=int, default=port)
        sp.add_argument("--rehearsal-start", help="run a rehearsal clock from this ISO instant")
        sp.add_argument("--speed", type=float, default=1.0, help="rehearsal clock speed factor")
        m = sp.add_argument_group("audio and video")
        m.add_argument("--no-media", action="store_true", help="no built-in audio and video")
        m.add_argument(
            "--media",
            action="append",
            metavar="ENGINE",
            help="the media engine: aiortc (embedded, the default) or janus://HOST:PORT (repeat "
            "or comma-separate for several Janus instances; secrets from $COMPANION_JANUS_SECRET "
            "and $COMPANION_JANUS_ADMIN_KEY) ($COMPANION_MEDIA)",
        )
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

    jc = sub.add_parser("janus-config", help="write a Janus configuration for the course's rooms")
    jc.add_argument("folder", help="where to write janus.jcfg and its plugin files")
    jc.add_argument("--ws-port", type=int, default=8188, help="Janus's WebSocket API port")
    jc.add_argument("--ws-ip", default="127.0.0.1", help="the address the API listens on")
    jc.add_argument("--rtp-ports", default="20000-20199", help="UDP range for media")
    jc.add_argument(
        "--interfaces", help="interfaces or address prefixes to offer (ice_enforce_list)"
    )
    jc.add_argument("--public-ip", help="the address browsers reach Janus at, behind NAT")
    jc.add_argument("--stun", help="HOST:PORT of a STUN server")
    jc.add_argument(
        "--turn",
        help="HOST:PORT of a TURN server (user and password from "
        "$COMPANION_TURN_USER, $COMPANION_TURN_PASSWORD)",
    )
    jc.set_defaults(func=cmd_janus_config)

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
    li.add_argument(
        "--base-url",
        default=os.environ.get("COMPANION_BASE_URL", "http://127.0.0.1:8000"),
        help="the server's address as people reach it ($COMPANION_BASE_URL)",
    )
    key_opts(li)
    li.set_defaults(func=cmd_links)

    ml = sub.add_parser(
        "mail",
        help="email people their personal link and calendar, and reminders (SMTP settings from "
        "$COMPANION_SMTP_*; see the README)",
    )
    mlsub = ml.add_subparsers(dest="mail_command", required=True)
    for name, text in (
        ("invite", "everyone not yet sent their current link (or --to someone again)"),
        ("remind", "the reminder before --day N, to everyone invited and not yet reminded"),
    ):
        m = mlsub.add_parser(name, help=text)
        course_opts(m)
        key_opts(m)
        m.add_argument("--store", help="event log URL")
        m.add_argument(
            "--base-url",
            default=os.environ.get("COMPANION_BASE_URL", "http://127.0.0.1:8000"),
            help="the server's address as people reach it ($COMPANION_BASE_URL)",
        )
        m.add_argument("--to", action="append", metavar="EMAIL", help="only to them (a resend)")
        m.add_argument(
            "--dry-run", action="store_true", help="show what would be sent; send nothing"
        )
        if name == "remind":
            m.add_argument("--day", type=int, required=True, help="the course day it is for")
        m.set_defaults(func=cmd_mail)

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
    ga.add_argument(
        "--zoom-meeting",
        action="append",
        metavar="NAME=TRACKS",
        help="one Zoom meeting and the tracks whose groups meet in it (repeat for each; each "
        "gets its own file, FILE-NAME.csv), e.g. --zoom-meeting adult=adult",
    )
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
    sce = scsub.add_parser(
        "export",
        help="write the cases and forms published in the browser back as YAML files "
        "(OUT/roleplays/ID.yaml, OUT/instruments/ID.yaml), each checked like the files",
    )
    sce.add_argument("out", help="folder to write into (e.g. scenarios, to keep the edits)")
    course_opts(sce)
    sce.add_argument("--store", help="event log URL")
    sce.set_defaults(func=cmd_scenarios_export)

    ex = sub.add_parser(
        "export",
        help="attendance or credits for the accreditor; the PARS and CPE Monitor files for "
        "the boards; feedback, shared reflections, evaluations; one person's data",
    )
    ex.add_argument(
        "what",
        choices=[
            "attendance",
            "credits",
            "feedback",
            "reflections",
            "evaluations",
            "talk",
            "person",
            "pars",
            "cpe-monitor",
        ],
    )
    ex.add_argument("--email", help="with `person`: whose data (everything the course holds)")
    ex.add_argument(
        "--format",
        choices=["csv", "csv-excel", "json", "xlsx"],
        default="csv",
        help="csv-excel: UTF-8 with a byte-order mark, ids kept as text; xlsx: typed cells",
    )
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
    d.add_argument(
        "--fresh", action="store_true", help="start the demo course again (its log is deleted)"
    )
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
    except KeyboardInterrupt:  # Ctrl-C: the server has already shut down in order
        print(f"companion {args.command}: stopped.", file=sys.stderr)
        return 130
    return code
