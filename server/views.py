"""HTTP pages and form posts. Thin: parse, call the course service, render a template."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.auth import SESSION_COOKIE, BadLink, Signer
from server.calendar import agenda_ics
from server.clock import RehearsalClock
from server.course import CourseService
from server.domain.agenda import item_summary, utc_z
from server.domain.course_state import Announce, DelayRunningItem
from server.domain.errors import DomainError
from server.domain.roles import Actor, Role
from server.live.endpoint import live
from server.live.render import STATIC
from server.store import StoreError

DIRECTOR = Actor(id="director", role=Role.DIRECTOR)


def _service(request: Request) -> CourseService:
    svc: CourseService = request.app.state.service
    return svc


def _page(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    svc = _service(request)
    html = svc.renderer.render(
        template,
        course=svc.course,
        v=svc.agenda_view(),
        oob=False,
        clock_mode=svc.clock.describe(),
        rehearsal=isinstance(svc.clock, RehearsalClock),
        **extra,
    )
    return HTMLResponse(html, status_code=status)


def message_page(request: Request, heading: str, text: str, status: int) -> HTMLResponse:
    html = _service(request).renderer.render("message.html", heading=heading, text=text)
    return HTMLResponse(html, status_code=status)


def current_actor(request: Request) -> Actor | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    signer: Signer = request.app.state.signer
    try:
        person, _version = signer.read_session(value)
    except BadLink:
        return None
    return DIRECTOR if person == DIRECTOR.id else None


async def index(request: Request) -> Response:
    return _page(request, "index.html")


async def join(request: Request) -> Response:
    signer: Signer = request.app.state.signer
    try:
        person, version = signer.read_link(request.path_params["token"])
    except BadLink as e:
        return message_page(request, "This link does not work", str(e), 403)
    if person != DIRECTOR.id:
        return message_page(request, "This link does not work", "No such person.", 403)
    response = RedirectResponse("/director", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signer.session_value(person, version),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=14 * 24 * 3600,
    )
    return response


async def director(request: Request) -> Response:
    if current_actor(request) != DIRECTOR:
        return message_page(
            request,
            "Course director only",
            "Open this page with the course director's personal link.",
            403,
        )
    return _page(request, "director.html", person_name="the course director")


def _flash(request: Request, text: str, error: bool = False, status: int = 200) -> HTMLResponse:
    html = _service(request).renderer.render("_flash.html", flash=text, flash_error=error)
    return HTMLResponse(html, status_code=status)


async def _director_command(request: Request, build: Any, done: Any) -> Response:
    actor = current_actor(request)
    if actor is None:
        return _flash(request, "Your session has ended; open your personal link again.", True, 403)
    form = await request.form()
    try:
        command = build(form)
        await _service(request).execute(command, actor)
    except (DomainError, ValueError) as e:
        return _flash(request, str(e), True, 422)
    except StoreError as e:
        return _flash(request, f"Not saved: {e}. Please try again in a moment.", True, 503)
    return _flash(request, done(command))


def _minutes(form: Any) -> DelayRunningItem:
    raw = str(form.get("minutes", "")).strip()
    if not raw.lstrip("-").isdigit():
        raise ValueError(f"Minutes must be a whole number, not {raw!r}.")
    return DelayRunningItem(int(raw))


async def delay(request: Request) -> Response:
    return await _director_command(
        request, _minutes, lambda c: f"Delayed the running item by {c.minutes} minutes."
    )


async def announce(request: Request) -> Response:
    return await _director_command(
        request, lambda f: Announce(str(f.get("text", ""))), lambda c: "Announcement sent."
    )


async def clock_next(request: Request) -> Response:
    if current_actor(request) != DIRECTOR:
        return _flash(request, "Only the course director may move the clock.", True, 403)
    svc = _service(request)
    nxt = svc.schedule.next(svc.clock.now())
    if nxt is None:
        return _flash(request, "Nothing more on the agenda.", True, 422)
    try:
        svc.jump_clock(nxt.start)
    except DomainError as e:
        return _flash(request, str(e), True, 422)
    return _flash(request, f"Clock moved to the start of “{nxt.item.title}”.")


def agenda_now(svc: CourseService) -> dict[str, Any]:
    now = svc.clock.now()
    cur, nxt = svc.schedule.current(now), svc.schedule.next(now)
    return {
        "now": utc_z(now),
        "timezone": svc.course.timezone,
        "current": item_summary(svc.schedule, cur) if cur else None,
        "next": item_summary(svc.schedule, nxt) if nxt else None,
    }


async def agenda_json(request: Request) -> Response:
    return JSONResponse(agenda_now(_service(request)))


async def agenda_ics_view(request: Request) -> Response:
    body = agenda_ics(_service(request).schedule)
    headers = {"Content-Disposition": 'attachment; filename="agenda.ics"'}
    return Response(body, media_type="text/calendar", headers=headers)


async def healthz(request: Request) -> Response:
    svc = _service(request)
    body = {
        "status": "ok",
        "course": svc.course.id,
        "seq": svc.state.seq,
        "clock": svc.clock.describe(),
        "now": utc_z(svc.clock.now()),
        "connections": len(svc.hub.connections),
        "store": svc.store.url.split("://")[0],
    }
    return Response(json.dumps(body), media_type="application/json")


routes = [
    Route("/", index),
    Route("/join/{token}", join),
    Route("/director", director),
    Route("/director/delay", delay, methods=["POST"]),
    Route("/director/announce", announce, methods=["POST"]),
    Route("/director/clock/next", clock_next, methods=["POST"]),
    Route("/agenda.json", agenda_json),
    Route("/agenda.ics", agenda_ics_view),
    Route("/healthz", healthz),
    WebSocketRoute("/live", live),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]

__all__ = ["routes"]
