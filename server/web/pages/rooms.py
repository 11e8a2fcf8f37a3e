"""A learner's track choice and help calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.groups.membership import ChooseTrack
from server.domain.help_calls import ClaimHelp, ReleaseHelp, RequestHelp, ResolveHelp
from server.web.pages.common import run_command


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


routes = [
    Route("/me/track", choose_track, methods=["POST"]),
    Route("/help", request_help, methods=["POST"]),
    Route("/help/{help_id:int}/claim", claim_help, methods=["POST"]),
    Route("/help/{help_id:int}/resolve", resolve_help, methods=["POST"]),
    Route("/help/{help_id:int}/release", release_help, methods=["POST"]),
]
