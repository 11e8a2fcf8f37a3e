"""The agenda as JSON and as a calendar, and the server's health."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.domain.agenda import now_and_next, utc_z
from server.reports.calendar import agenda_ics
from server.web.pages.common import service_of


async def agenda_json(request: Request) -> Response:
    svc = service_of(request)
    return JSONResponse(now_and_next(svc.schedule, svc.clock.now()))


async def agenda_ics_view(request: Request) -> Response:
    body = agenda_ics(service_of(request).schedule)
    headers = {"Content-Disposition": 'attachment; filename="agenda.ics"'}
    return Response(body, media_type="text/calendar", headers=headers)


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
    Route("/healthz", healthz),
]
