"""Pages and actions around room media: replaying a group's recorded turns, deleting a
recording, and a room's external meeting link."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from server.domain import media
from server.domain.errors import DomainError
from server.domain.roles import Actor, Role
from server.web.pages.common import (
    current_actor,
    message_page,
    render_page,
    requires,
    run_command,
    service_of,
)


@requires()
async def recordings_page(request: Request, actor: Actor) -> Response:
    group = request.path_params["group"]
    svc = service_of(request)
    if group not in svc.state.rooms.groups:
        return message_page(request, "No such group", f"There is no group named {group!r}.", 404)
    if not media.may_replay(svc.state.rooms, actor, group):
        return message_page(
            request, "Not your group", "Recordings are for the group and the course director.", 403
        )
    people = svc.state.people

    def name(pid: str | None) -> str:
        p = people.get(pid) if pid else None
        return p.name if p else (pid or "")

    parts: dict[str, list[media.Recording]] = defaultdict(list)
    for rec in svc.state.media.recordings.values():
        if rec.group == group:
            parts[rec.part].append(rec)
    rows: list[dict[str, Any]] = []
    for recs in sorted(parts.values(), key=lambda rs: rs[0].started, reverse=True):
        first = recs[0]
        rows.append(
            {
                "turn": first.turn,
                "segment": first.segment,
                "dom": first.part.replace(".", "-"),
                "learner": name(first.learner),
                "started": min(r.started for r in recs),
                "ended": max(r.ended for r in recs),
                "videos": [(r, name(r.person)) for r in sorted(recs, key=lambda r: r.person)],
            }
        )
    return render_page(
        request,
        "pages/recordings.html",
        group=group,
        rows=rows,
        retention=request.app.state.recorder.retention_days,
        is_director=actor.role is Role.DIRECTOR,
    )


async def recording_file(request: Request) -> Response:
    rid = "/".join(request.path_params[k] for k in ("group", "part", "person"))
    actor = current_actor(request)
    svc = service_of(request)
    rec = svc.state.media.recordings.get(rid)
    if actor is None or rec is None or not media.may_replay(svc.state.rooms, actor, rec.group):
        return Response("Not found.", 404)
    try:
        path = request.app.state.recorder.file(rec.file)
    except DomainError:
        return Response("Not found.", 404)
    if not path.exists():
        return Response("This recording's file is missing.", 410)
    return FileResponse(path, media_type="video/webm", headers={"cache-control": "private"})


async def delete_recording(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: media.DeleteRecording(str(f.get("id", ""))),
        lambda c: "Recording deleted.",
        flash_id="recordings-result",
    )


def _link_done(command: Any) -> str:
    link: media.SetRoomLink = command
    if link.url.strip():
        return f"Meeting link for {link.room} saved."
    return f"{link.room} uses the built-in audio and video again."


async def set_room_link(request: Request) -> Response:
    return await run_command(
        request,
        lambda f: media.SetRoomLink(str(f.get("room", "")), str(f.get("url", ""))),
        _link_done,
        flash_id="links-result",
    )


routes = [
    Route("/rp/{group}/recordings", recordings_page),
    Route("/recordings/{group}/{part}/{person}", recording_file),
    Route("/director/recordings/delete", delete_recording, methods=["POST"]),
    Route("/director/rooms/link", set_room_link, methods=["POST"]),
]
