"""The director's course controls: delays, announcements, the rehearsal clock, small groups."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.agenda import DelayRunningItem
from server.domain.announcements import Announce, WithdrawAnnouncement
from server.domain.course_state import Command
from server.domain.errors import DomainError
from server.domain.groups.membership import AssignGroups, LockMember, MoveMember, Rebalance
from server.domain.roles import Actor, Role
from server.service.course import CourseService
from server.store import StoreError
from server.web.pages.common import (
    flash,
    form_int,
    requires,
    run_command,
    service_of,
)


async def delay(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: DelayRunningItem(form_int(f, "minutes", "Minutes")),
        lambda c: f"Delayed the running item by {c.minutes} minutes.",  # type: ignore[union-attr]
    )


async def announce(request: Request) -> Response:
    svc = service_of(request)

    def build(f: FormData) -> Announce:
        until = _today_at(svc, str(f.get("until", "")).strip()) if f.get("until") else None
        return Announce(str(f.get("text", "")), str(f.get("track", "")) or None, until)

    return await run_command(request, build, lambda c: "Message sent.")


def _today_at(svc: CourseService, hhmm: str) -> datetime:
    """`hhmm` (24-hour, course time) on the course day now."""
    try:
        wall = time.fromisoformat(hhmm)
    except ValueError:
        raise DomainError(f"Give the end time as HH:MM, not {hhmm!r}.") from None
    day = svc.clock.now().astimezone(svc.schedule.tz).date()
    return datetime.combine(day, wall, svc.schedule.tz)


async def withdraw_announcement(request: Request) -> Response:
    seq = int(request.path_params["seq"])
    return await run_command(
        request, lambda f: WithdrawAnnouncement(seq), lambda c: "Announcement withdrawn."
    )


@requires(Role.DIRECTOR, reply="flash")
async def clock_next(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    nxt = svc.schedule.next(svc.clock.now())
    if nxt is None:
        return flash(request, "Nothing more on the agenda.", True, 422)
    form = await request.form()
    try:
        # A lead lets a rehearsal watch the change happen: "10 s before the next item".
        lead = form_int(form, "lead", "Lead") if form.get("lead") else 0
        if not 0 <= lead <= 600:
            raise ValueError("Lead must be 0 to 600 seconds.")
        await svc.move_clock(nxt.start - timedelta(seconds=lead), actor)
    except StoreError as e:
        return flash(request, f"Not moved: {e}. Please try again in a moment.", True, 503)
    except (DomainError, ValueError) as e:
        return flash(request, str(e), True, 422)
    before = f"{lead} s before" if lead else "the start of"
    return flash(request, f"Clock moved to {before} “{nxt.item.title}”.")


async def groups_assign(request: Request) -> Response:
    def build(f: FormData) -> Command:
        return AssignGroups(
            seed=form_int(f, "seed", "Seed"),
            min_size=form_int(f, "min_size", "The smallest size"),
            max_size=form_int(f, "max_size", "The largest size"),
            teams=str(f.get("teams", "together")),
        )

    return await run_command(request, build, lambda c: "Small groups formed.")


async def groups_move(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: MoveMember(str(f["person"]), str(f["group"])),
        lambda c: f"Moved to {c.group}.",  # type: ignore[union-attr]
    )


async def groups_lock(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await run_command(
        request,
        lambda f: LockMember(pid, str(f.get("locked", "1")) == "1"),
        lambda c: "Locked in place." if c.locked else "Unlocked.",  # type: ignore[union-attr]
    )


async def groups_rebalance(request: Request) -> Response:
    return await run_command(request, lambda f: Rebalance(), lambda c: "Groups rebalanced.")


routes = [
    Route("/director/delay", delay, methods=["POST"]),
    Route("/director/announce", announce, methods=["POST"]),
    Route("/director/announcements/{seq:int}/withdraw", withdraw_announcement, methods=["POST"]),
    Route("/director/clock/next", clock_next, methods=["POST"]),
    Route("/director/groups/assign", groups_assign, methods=["POST"]),
    Route("/director/groups/move", groups_move, methods=["POST"]),
    Route("/director/groups/rebalance", groups_rebalance, methods=["POST"]),
    Route("/director/groups/lock/{person_id}", groups_lock, methods=["POST"]),
]
