"""A learner's track choice, help calls, staff dropping in on a room, and the director's quick
breakouts."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.domain.breakouts import CloseBreakout, LeaveVisit, OpenBreakout, Visit
from server.domain.groups.membership import ChooseTrack
from server.domain.help_calls import ClaimHelp, ReleaseHelp, RequestHelp, ResolveHelp
from server.domain.roles import Actor
from server.web.pages.common import (
    attempt,
    form_int,
    message_page,
    requires,
    run_command,
    service_of,
)


async def choose_track(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: ChooseTrack(str(f.get("track", ""))),
        lambda c: f"You will join the {c.track} sessions.",  # type: ignore[union-attr]
        flash_id="track-result",
    )


async def request_help(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: RequestHelp(str(f.get("note", ""))),
        lambda c: "A facilitator has been called.",
        flash_id="help-result",
    )


async def claim_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await run_command(
        request, lambda f: ClaimHelp(hid), lambda c: "It's yours.", flash_id="help-result"
    )


async def resolve_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await run_command(
        request, lambda f: ResolveHelp(hid), lambda c: "Marked done.", flash_id="help-result"
    )


async def release_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await run_command(
        request,
        lambda f: ReleaseHelp(hid),
        lambda c: "Released: the track's facilitators see it again.",
        flash_id="help-result",
    )


async def _visit(request: Request, actor: Actor, command_of: Any) -> Response:
    """Drop in or leave: a plain form whose answer is the person's page again, now showing
    the room they visit (its panels, its audio and video), or a page saying why not."""

    async def act(actor: Actor, form: Any) -> str:
        await service_of(request).execute(command_of(form), actor)
        return ""

    text, error, status = await attempt(act, actor, await request.form())
    if error:
        return message_page(request, "Not now", text, status)
    return RedirectResponse("/", status_code=303)


@requires()
async def visit(request: Request, actor: Actor) -> Response:
    return await _visit(request, actor, lambda f: Visit(str(f.get("room", ""))))


@requires()
async def leave_visit(request: Request, actor: Actor) -> Response:
    return await _visit(request, actor, lambda f: LeaveVisit())


async def open_breakout(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: OpenBreakout(form_int(f, "minutes", "Minutes")),
        lambda c: "The small groups are open: every page moves there now.",
        flash_id="visit-result",
    )


async def close_breakout(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: CloseBreakout(),
        lambda c: "The small groups are closed: every page moves back.",
        flash_id="visit-result",
    )


routes = [
    Route("/visit", visit, methods=["POST"]),
    Route("/visit/leave", leave_visit, methods=["POST"]),
    Route("/director/breakout", open_breakout, methods=["POST"]),
    Route("/director/breakout/close", close_breakout, methods=["POST"]),
    Route("/me/track", choose_track, methods=["POST"]),
    Route("/help", request_help, methods=["POST"]),
    Route("/help/{help_id:int}/claim", claim_help, methods=["POST"]),
    Route("/help/{help_id:int}/resolve", resolve_help, methods=["POST"]),
    Route("/help/{help_id:int}/release", release_help, methods=["POST"]),
]
