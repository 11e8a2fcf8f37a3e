"""What every page and form post shares: who sent it, rendering a page with the same partials
its live socket pushes, flashes, and running a command as the signed-in person."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.access.links import Signer, person_link
from server.access.sessions import AmbiguousSession, session_actor, session_cookie
from server.domain.course_state import Command
from server.domain.errors import DomainError, PermissionDenied
from server.domain.roles import ROLE_LABELS, Actor, Role
from server.domain.rooms import learner_track
from server.live.audiences import audiences_for, render_audience
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.store import StoreError

ROLE_PAGES = {
    Role.LEARNER: "pages/learner.html",
    Role.SP: "pages/sp.html",
    Role.FACILITATOR: "pages/facilitator.html",
    Role.DIRECTOR: "pages/director.html",
}


def service_of(request: Request) -> CourseService:
    svc: CourseService = request.app.state.service
    return svc


def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def current_actor(request: Request) -> Actor | None:
    """Who sent the request: its one session cookie, checked (SessionGuard refuses several)."""
    try:
        cookie = session_cookie(request.scope["headers"])
    except AmbiguousSession:
        return None
    return session_actor(service_of(request).state.people, signer_of(request), cookie)


def render_page(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    """A page: the same partials its live socket will push, rendered for this viewer."""
    svc = service_of(request)
    actor = current_actor(request)
    me = svc.state.people.get(actor.id) if actor else None
    parts: dict[str, str] = {}
    ctx = svc.view_context()
    for audience in audiences_for(svc.state, actor):
        for template_name, html in render_audience(ctx, audience, oob=False).items():
            parts[template_name] = parts.get(template_name, "") + html
    context: dict[str, Any] = {
        "course": svc.course,
        "v": svc.agenda_view(),
        "parts": parts,
        "oob": False,
        "clock_mode": svc.clock.describe(),
        "rehearsal": isinstance(svc.clock, RehearsalClock),
        "me": me,
        "may_author": me is not None and me.id in svc.state.authoring.authors,
        "visiting_room": _visiting(svc, me.id) if me else "",
        "role_label": ROLE_LABELS[me.role] if me else None,
        "my_track": learner_track(svc.state.rooms, me) if me else None,
        "tz": svc.schedule.tz,
        "media_ice": media_ice(request),
        "media_engine": getattr(getattr(request.app.state, "media", None), "engine_name", ""),
    }
    html = svc.renderer.render(template, **context, **extra)
    return HTMLResponse(html, status_code=status)


def _visiting(svc: CourseService, pid: str) -> str:
    """The room a staff member's page was drawn visiting ("" if none): the page reloads itself
    when that changes (a drop-in from another tab, or the visit ended with its item)."""
    from server.domain.placement import place_of

    return place_of(svc.state.rooms, svc.state.people, svc.schedule, pid, svc.clock.now()).visited


def media_ice(request: Request) -> str | None:
    """The ICE servers a page's media connection uses (JSON), or None without built-in media."""
    media = getattr(request.app.state, "media", None)
    return json.dumps(media.ice.browser()) if media is not None else None


def message_page(request: Request, heading: str, text: str, status: int) -> HTMLResponse:
    html = service_of(request).renderer.render("pages/message.html", heading=heading, text=text)
    return HTMLResponse(html, status_code=status)


def flash(
    request: Request,
    text: str,
    error: bool = False,
    status: int = 200,
    flash_id: str = "",
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    """The answer to an htmx post: a line saying what happened (and, with `link`, where to go
    next: (address, words))."""
    html = service_of(request).renderer.render(
        "includes/flash.html", flash=text, flash_error=error, flash_id=flash_id, flash_link=link
    )
    return HTMLResponse(html, status_code=status)


def link_for(request: Request, person_id: str) -> str:
    """`person_id`'s personal link on this server's address."""
    p = service_of(request).state.people.by_id[person_id]
    return person_link(signer_of(request), str(request.base_url), p)


async def run_command(
    request: Request,
    build: Callable[[FormData], Command],
    done: Callable[[Command], str],
    flash_id: str = "",
    link: tuple[str, str] | None = None,
) -> Response:
    """Parse a form into a command, run it as the signed-in person, answer with a flash (and,
    once it succeeded, `link`)."""

    async def act(actor: Actor, form: FormData) -> str:
        command = build(form)
        await service_of(request).execute(command, actor)
        return done(command)

    return await act_as(request, act, flash_id, link)


async def act_as(
    request: Request,
    act: Callable[[Actor, FormData], Awaitable[str]],
    flash_id: str = "",
    link: tuple[str, str] | None = None,
) -> Response:
    """Run `act` as the signed-in person with their form; its refusals become flashes."""
    actor = current_actor(request)
    if actor is None:
        return flash(
            request, "Your session has ended; open your personal link again.", True, 403, flash_id
        )
    text, error, status = await attempt(act, actor, await request.form())
    return flash(request, text, error, status, flash_id, None if error else link)


async def attempt(
    act: Callable[[Actor, FormData], Awaitable[str]], actor: Actor, form: FormData
) -> tuple[str, bool, int]:
    """`act` run as `actor`: (what to say, whether it was refused, the status code)."""
    try:
        return await act(actor, form), False, 200
    except PermissionDenied as e:
        return str(e), True, 403
    except (DomainError, ValueError, KeyError) as e:
        return str(e).strip("'\""), True, 422
    except StoreError as e:
        return f"Not saved: {e}. Please try again in a moment.", True, 503


def form_int(form: FormData, name: str, label: str) -> int:
    raw = str(form.get(name, "")).strip()
    if not raw.lstrip("-").isdigit():
        raise ValueError(f"{label} must be a whole number, not {raw!r}.")
    return int(raw)


def form_sid(form: FormData) -> str:
    """The submission id the page made; a page without script gets a fresh one."""
    return str(form.get("sid") or "") or secrets.token_urlsafe(16)


def form_answers(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    """Answers (`a.<item>`) and the moments of quotes (`m.<item>`) from a posted form."""
    answers: dict[str, str] = {}
    for k, v in form.multi_items():
        if k.startswith("a."):  # the boxes ticked of one item come as one value each
            key = k[2:]
            answers[key] = f"{answers[key]},{v}" if key in answers else str(v)
    moments = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("m.")}
    return answers, moments


Handler = Callable[[Request, Actor], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def requires(*roles: Role, reply: str = "page") -> Callable[[Handler], Endpoint]:
    """Who may open a page or send a post, declared once on its handler: anyone signed in, or
    only someone of `roles`. The handler is called with the signed-in actor; anyone else gets
    a page saying whose link opens it (`reply="flash"`: a flash, for an htmx post; "text": plain
    text, for a download). Commands are also checked in the domain, however they arrive."""

    def refuse(request: Request, heading: str, text: str) -> Response:
        if reply == "flash":
            return flash(request, text, True, 403)
        if reply == "text":
            return Response(text, 403, media_type="text/plain; charset=utf-8")
        return message_page(request, heading, text, 403)

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            actor = current_actor(request)
            if actor is None:
                return refuse(request, "Sign in first", "Open your personal link first.")
            if roles and actor.role not in roles:
                names = " or ".join(ROLE_LABELS[r] for r in roles)
                return refuse(
                    request,
                    f"{names.capitalize()} only",
                    f"Only a {names} may do this; open this page with a {names}'s personal link.",
                )
            return await handler(request, actor)

        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap
