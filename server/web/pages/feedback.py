"""Feedback on a turn, its release at debrief, and the learner's "next time I will…"."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.errors import DomainError
from server.domain.roles import Actor
from server.live.names import slug
from server.web.pages.common import act_as, form_answers, form_sid, run_command, service_of


def _turn(request: Request) -> tuple[str, int]:
    raw = request.path_params["turn"]
    if not str(raw).isdigit():
        raise DomainError(f"Turn must be a number, not {raw!r}.")
    return request.path_params["group"], int(raw)


async def feedback_submit(request: Request) -> Response:
    """Feedback on a turn: the observers' form, or the learner's rating of their own turn."""
    from server.content.instruments import spec
    from server.domain.feedback import SubmitFeedback
    from server.live.views.feedback import turn_instrument

    svc = service_of(request)

    async def act(actor: Actor, f: FormData) -> str:
        group, number = _turn(request)
        turns = svc.state.roleplays.of(group).turns
        turn = turns[number - 1] if 0 < number <= len(turns) else None
        inst = turn_instrument(turn, svc.library, svc.instruments, actor.id)
        answers, moments = form_answers(f)
        command = SubmitFeedback(form_sid(f), group, number, inst.id, spec(inst), answers, moments)
        await svc.execute(command, actor)
        return "Self-rating saved." if turn and turn.learner == actor.id else "Feedback saved."

    return await act_as(request, act, flash_id="fb-result")


async def feedback_release(request: Request) -> Response:
    from server.domain.feedback import ReleaseFeedback

    return await run_command(
        request,
        lambda f: ReleaseFeedback(*_turn(request)),
        lambda c: "Released: the learner sees their feedback now.",
        flash_id=f"tally-result-{slug(request.path_params['group'])}",
    )


async def next_time(request: Request) -> Response:
    from server.domain.feedback import WriteNextTime

    return await run_command(
        request,
        lambda f: WriteNextTime(form_sid(f), *_turn(request), str(f.get("text", ""))),
        lambda c: "Saved.",
        flash_id="fb-result",
    )


routes = [
    Route("/fb/{group}/{turn}", feedback_submit, methods=["POST"]),
    Route("/fb/{group}/{turn}/release", feedback_release, methods=["POST"]),
    Route("/fb/{group}/{turn}/next", next_time, methods=["POST"]),
]
