"""The agenda as JSON and as a calendar, and the server's health."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access.links import BadLink, calendar_link
from server.access.sessions import person_for
from server.domain.agenda import now_and_next, utc_z
from server.domain.roles import Actor
from server.reports.calendar import agenda_events, ics, person_ics, sequences
from server.web.pages.common import current_actor, render_page, requires, service_of, signer_of


async def agenda_json(request: Request) -> Response:
    svc = service_of(request)
    return JSONResponse(now_and_next(svc.schedule, svc.clock.now()))


def _calendar(body: bytes, filename: str) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "no-cache",
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


async def agenda_ics_view(request: Request) -> Response:
    """The whole agenda: a file to import, or an address to subscribe to (it follows delays)."""
    svc = service_of(request)
    moved = sequences(svc.state, svc.base)
    events = agenda_events(svc.schedule, moved)
    body = ics(svc.schedule, events, datetime.now(UTC), svc.course.title, str(request.url))
    return _calendar(body, "agenda.ics")


@requires()
async def calendar_page(request: Request, actor: Actor) -> Response:
    """Where a person finds their calendar address to subscribe to."""
    p = service_of(request).state.people.by_id[actor.id]
    url = calendar_link(signer_of(request), str(request.base_url), p)
    webcal = "webcal://" + url.split("://", 1)[1]
    return render_page(request, "pages/calendar.html", subscribe=url, webcal=webcal)


async def my_calendar(request: Request) -> Response:
    """One person's calendar: from their session (/calendar.ics) or, for a subscription, from
    the calendar token in the address (/calendar/{token}.ics)."""
    svc = service_of(request)
    token = request.path_params.get("token")
    if token is None:
        actor = current_actor(request)
        if actor is None:
            return Response("Open your personal link first.", 403, media_type="text/plain")
        pid = actor.id
    else:
        try:
            pid, version = signer_of(request).read_calendar(token)
            pid = person_for(svc.state.people, pid, version).id
        except BadLink:
            return Response("This calendar address is no longer valid.", 404)
    body = person_ics(svc.state, svc.base, svc.schedule, pid, datetime.now(UTC), str(request.url))
    return _calendar(body, "my-course.ics")


async def healthz(request: Request) -> Response:
    svc = service_of(request)
    body = {
        "status": "ok" if svc.store_ok else "degraded: the course log is unreachable",
        "course": svc.course.id,
        "seq": svc.state.seq,
        "clock": svc.clock.describe(),
        "now": utc_z(svc.clock.now()),
        "now_epoch": svc.clock.now().timestamp(),
        "connections": len(svc.hub.connections),
        "people": len(svc.state.people.by_id),
        "online": sum(1 for p in svc.state.people.by_id.values() if p.online),
        "store": svc.store.url.split("://")[0],
        "boundary": svc.last_boundary,
    }
    collector = getattr(request.app.state, "collector", None)
    if collector is not None:
        body["gc"] = collector.stats.as_dict()
    return Response(json.dumps(body), media_type="application/json")


routes = [
    Route("/agenda.json", agenda_json),
    Route("/agenda.ics", agenda_ics_view),
    Route("/calendar", calendar_page),
    Route("/calendar.ics", my_calendar),
    Route("/calendar/{token}.ics", my_calendar),
    Route("/healthz", healthz),
]
