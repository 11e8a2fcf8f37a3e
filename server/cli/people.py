"""The registration list, personal links, the signing key and erasing one person."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from server.cli.common import execute, load_service, read_roster, signing_key, with_service
from server.config import UsageError


def cmd_roster_check(args: argparse.Namespace) -> int:
    roster = read_roster(args.file)
    for problem in roster.problems:
        print(f"{args.file}:{problem}")
    print(f"{len(roster.rows)} good rows, {len(roster.problems)} problems")
    return 1 if roster.problems else 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    from server.domain.people_rules import ImportRoster

    roster = read_roster(args.file)
    for problem in roster.problems:
        print(f"{args.file}:{problem} (not imported)")
    events = asyncio.run(execute(args, ImportRoster(tuple(roster.registrations))))
    new = sum(1 for e in events if e.type == "person.registered")
    changed = len(events) - new
    unchanged = len(roster.rows) - len(events)
    print(
        f"Imported {new} new, updated {changed}, {unchanged} unchanged; "
        f"{len(roster.problems)} bad rows not imported."
    )
    return 1 if roster.problems else 0


def cmd_links(args: argparse.Namespace) -> int:
    from server.access.links import Signer, person_link

    service = asyncio.run(load_service(args))
    signer = Signer(signing_key(args))
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


def cmd_mail(args: argparse.Namespace) -> int:
    """Send (or with --dry-run show) invitations or a day's reminder, and record each send."""
    from server.access.links import Signer
    from server.reports.mail import MailSettingsError, SmtpSettings, send

    kind = "invite" if args.mail_command == "invite" else f"reminder-day-{args.day}"
    try:
        settings = None if args.dry_run else SmtpSettings.from_env()
    except MailSettingsError as e:
        raise UsageError(str(e)) from None
    signer = Signer(signing_key(args))

    async def run(service: Any) -> Any:
        if args.mail_command == "remind" and not 1 <= args.day <= service.course.days:
            raise UsageError(f"--day {args.day}: the course has days 1 to {service.course.days}")
        to = []
        for email in args.to or ():
            pid = service.state.people.id_of(email)
            if pid is None or service.state.people.by_id[pid].erased:
                raise UsageError(f"nobody with the email {email!r} is on this course")
            to.append(pid)
        return await send(service, signer, args.base_url, settings, kind, to, args.dry_run)

    results = asyncio.run(with_service(args, run))
    for r in results:
        who = f"{r.person.name} <{r.person.reg.email}>"
        if args.dry_run:
            print(f"would send {kind} to {who}")
        elif r.ok:
            print(f"sent {kind} to {who} {r.detail}")
        else:
            print(f"FAILED {kind} to {who}: {r.detail}")
    failed = sum(1 for r in results if not r.ok)
    verb = "would be sent" if args.dry_run else "sent"
    print(f"{len(results) - failed} {verb}, {failed} failed; nothing else was due.")
    return 1 if failed else 0


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

    new = asyncio.run(with_service(args, erase))
    print(f"Erased {args.email}'s data; the course now shows an erased participant ({new}).")
    print("Remove them from the registration list too, or the next import registers them again.")
    return 0


def cmd_key_rotate(args: argparse.Namespace) -> int:
    """A new signing key: every personal link and session made with the old one stops working."""
    from server.access.keys import KeyProblem, rotate_key

    try:
        path = rotate_key(args.key_file)
    except KeyProblem as e:
        raise UsageError(str(e)) from None
    print(f"Wrote a new signing key to {path}. Every personal link and session has changed:")
    print("restart the server, then send people their new links (`companion links`).")
    return 0
