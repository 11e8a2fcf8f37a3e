"""Every route of the app, by area: each page module declares its own table at its bottom."""

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from server.live.render import STATIC
from server.web.pages import (
    agenda,
    authoring,
    credit,
    director,
    feedback,
    media,
    people,
    reflections,
    roleplay,
    rooms,
    talk,
)

routes: list[BaseRoute] = [
    *media.routes,
    *reflections.routes,
    *people.routes,
    *authoring.routes,
    *credit.routes,
    *director.routes,
    *rooms.routes,
    *roleplay.routes,
    *feedback.routes,
    *talk.routes,
    *agenda.routes,
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
