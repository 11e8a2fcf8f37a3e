"""The agenda as JSON and as a calendar, and the server's health."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.domain.agenda import item_summary, utc_z
from server.reports.calendar import agenda_ics
from server.service.course import CourseService
from server.web.pages.common import service_of


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
    return JSONResponse(agenda_now(service_of(request)))


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
