"""Groups formed offline, and the case library checked."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from server.cli.common import read_roster
from server.config import UsageError


def cmd_groups_assign(args: argparse.Namespace) -> int:
    from server.domain.groups.forming import Settings as GroupSettings
    from server.reports.groups import as_json, assign_roster, report, zoom_files

    roster = read_roster(args.roster)
    for problem in roster.problems:
        print(f"{args.roster}:{problem} (left out)", file=sys.stderr)
    settings = GroupSettings(args.min_size, args.max_size, args.teams)
    assignment = assign_roster(roster.registrations, settings, args.seed)
    if args.zoom_csv:
        meetings = None
        if args.zoom_meeting:
            meetings = {}
            for spec in args.zoom_meeting:
                name, sep, tracks = spec.partition("=")
                chosen = {t.strip() for t in tracks.split(",") if t.strip()}
                if (
                    not sep
                    or not name.strip()
                    or not chosen <= {"adult", "pediatric"}
                    or not chosen
                ):
                    raise UsageError(
                        f"--zoom-meeting {spec!r}: write NAME=TRACK[,TRACK] with tracks adult and "
                        "pediatric, e.g. --zoom-meeting adult=adult"
                    )
                meetings[name.strip()] = chosen
        zoom = zoom_files(assignment, roster.registrations, meetings)
        target = Path(args.zoom_csv)
        for name, text in zoom.files.items():
            path = target.with_name(f"{target.stem}-{name}{target.suffix}") if name else target
            path.write_text(text, encoding="utf-8")
            where = f"meeting {name!r}" if name else "the meeting"
            print(
                f"Zoom: {path} pre-assigns {zoom.placed[name]} people in {where}", file=sys.stderr
            )
        for email, why in zoom.not_placed:
            print(f"Zoom: not placed: {email}: {why}", file=sys.stderr)
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
        check_forms,
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
    if not args.path:
        from server.content.course import COURSE_FILE, load_course
        from server.domain.designations import findings

        course = load_course(COURSE_FILE)
        types = course.designations.types
        print(f"ok  course {course.id:36} {len(course.items)} items, {len(types)} credit types")
        for f in findings(course.designations, [i.designated() for i in course.items]):
            print(f"check  {f}")
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
    check_forms(cases, load_instruments(), path)
    for s in sorted(cases.values(), key=lambda s: (s.track, s.skill.value, s.id)):
        print(f"ok  {s.track:9} {s.skill.value:45} {s.id}")
    print(f"{len(cases)} cases valid in {path}")
    return 0


def cmd_scenarios_export(args: argparse.Namespace) -> int:
    """The latest published version of each case and form, written as its YAML file; each one
    is checked as `scenarios check` checks files, and a folder is only written whole."""
    from pydantic import BaseModel

    from server.cli.common import load_service
    from server.content.cases import Scenario
    from server.content.files import ContentError, entry_from_text
    from server.content.instruments import Instrument

    service = asyncio.run(load_service(args))
    state = service.state.authoring
    out = Path(args.out)
    folders = {"case": out / "roleplays", "instrument": out / "instruments"}
    models: dict[str, tuple[type[BaseModel], str]] = {
        "case": (Scenario, "scenario"),
        "instrument": (Instrument, "instrument"),
    }
    ready: list[tuple[Path, str]] = []
    for (kind, entry), versions in sorted(state.versions.items()):
        latest = versions[-1]
        model, what = models[kind]
        try:
            entry_from_text(model, latest.text, f"{entry} version {latest.number}", what, entry)
        except ContentError as e:
            print(f"skipped {kind} {entry} version {latest.number}: {e}", file=sys.stderr)
            continue
        ready.append((folders[kind] / f"{entry}.yaml", latest.text))
    for path, text in ready:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path}")
    print(f"{len(ready)} published version(s) written under {out}")
    return 0
