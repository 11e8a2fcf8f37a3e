"""Role-play controls: one form post per action, for the group's facilitator, SP and learners."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.course_state import Command
from server.domain.errors import DomainError
from server.live.names import slug
from server.web.pages.common import current_actor, form_int, run_command, service_of


def _roleplay_command(request: Request, group: str, action: str, form: FormData) -> Command:
    """The role-play command an action names. A learner's own forms carry no learner field:
    the signed-in person is the one volunteering."""
    from server.domain import media, roleplay

    actor = current_actor(request)
    learner = str(form.get("learner") or (actor.id if actor else ""))
    if action == "start":
        from server.content.shelf import Shelf

        library = service_of(request).library
        case = library.get(str(form.get("scenario", "")))
        if case is None:
            raise DomainError("Choose a case from the library.")
        beats = tuple(b.id for b in case.beats)
        version = library.version_of(case.id) if isinstance(library, Shelf) else 0
        return roleplay.StartRoleplay(
            group, case.id, case.track, beats, case.door_note.time_minutes, version
        )
    simple: dict[str, Callable[[], Command]] = {
        "begin": lambda: roleplay.BeginTurn(group, learner, str(form.get("goal", ""))),
        "tagin": lambda: roleplay.TagIn(group, learner, str(form.get("goal", ""))),
        "timeout": lambda: roleplay.TimeOut(group),
        "timein": lambda: roleplay.TimeIn(group),
        "rewind": lambda: roleplay.Rewind(group, str(form.get("beat", ""))),
        "beat": lambda: roleplay.ReachBeat(group, str(form.get("beat", ""))),
        "intensity": lambda: roleplay.SetIntensity(group, form_int(form, "level", "Intensity")),
        "cue": lambda: roleplay.SendCue(group, str(form.get("text", ""))),
        "end-turn": lambda: roleplay.EndTurn(group),
        "end": lambda: roleplay.EndRoleplay(group),
        "recording": lambda: media.SetRecording(group, _yes_no(form, "on")),
        "consent": lambda: media.GiveConsent(group, _yes_no(form, "given")),
    }
    if action not in simple:
        raise DomainError(f"Unknown role-play action {action!r}.")
    return simple[action]()


ROLEPLAY_DONE = {
    "start": "Case started: brief the group, then choose the hot seat.",
    "begin": "Turn started.",
    "tagin": "Tagged in.",
    "timeout": "Time-out.",
    "timein": "Scene resumed.",
    "rewind": "Rewound.",
    "beat": "Moved on.",
    "intensity": "Intensity set.",
    "cue": "Cue sent to the SP.",
    "end-turn": "Turn ended: time to debrief.",
    "end": "Case finished.",
    "recording": "Recording setting saved.",
    "consent": "Your answer about recording is saved.",
}


def _yes_no(form: FormData, name: str) -> bool:
    value = str(form.get(name, ""))
    if value not in ("1", "0"):
        raise DomainError(f"{name} must be 1 or 0, not {value!r}.")
    return value == "1"


async def roleplay_action(request: Request) -> Response:
    group = request.path_params["group"]
    action = request.path_params["action"]
    dom = slug(group)
    return await run_command(
        request,
        lambda f: _roleplay_command(request, group, action, f),
        lambda c: ROLEPLAY_DONE.get(action, "Done."),
        flash_id=f"rp-result-{dom}",
    )


routes = [
    Route("/rp/{group}/{action}", roleplay_action, methods=["POST"]),
]
