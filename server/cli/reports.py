"""The agenda and the exports an accreditor or a director asks for."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.cli.common import course_of, load_service, parse_instant
from server.config import UsageError
from server.domain.agenda import build_schedule, now_and_next


def cmd_agenda(args: argparse.Namespace) -> int:
    schedule = build_schedule(course_of(args))
    if args.ics:
        from server.reports.calendar import agenda_ics

        Path(args.ics).write_bytes(agenda_ics(schedule, datetime.now(UTC)))
        print(f"Wrote {len(schedule.items)} agenda items to {args.ics}")
        return 0
    now = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    snap: dict[str, Any] = now_and_next(schedule, now)
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


def cmd_export(args: argparse.Namespace) -> int:
    from server.reports import exports

    service = asyncio.run(load_service(args))
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
    elif args.what in ("pars", "cpe-monitor"):
        from server.domain.designations import Report
        from server.reports import boards

        report = Report.PARS if args.what == "pars" else Report.CPE_MONITOR
        why = boards.unready_file(service.schedule, report)
        if why:
            raise UsageError(why)
        make = boards.pars_file if report is Report.PARS else boards.cpe_file
        text = make(state, service.schedule, now)
        lines = boards.board_lines(state, service.schedule, now, report)
        for x in lines:
            if x.missing:
                name = x.report.person.reg.email
                print(f"left out: {name} {x.type.id}: {'; '.join(x.missing)}", file=sys.stderr)
        what = f"{sum(1 for x in lines if x.fields)} completions for {report.value}"
    else:
        body = exports.export(args.what, state, service.schedule, now, args.format)
        if isinstance(body, bytes):
            if not args.output:
                raise UsageError("an .xlsx export is a file: give -o FILE")
            Path(args.output).write_bytes(body)
            print(f"Wrote {args.what} to {args.output}")
            return 0
        text = body
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {what} to {args.output}")
    else:
        sys.stdout.write(text)
    return 0
