"""Talk beside the video: a message, a private line or a question in the room the signed-in
person is in now (the server takes the room from their place, never from the form), raising or
lowering a hand, upvoting and answering questions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.course_state import Command
from server.domain.errors import DomainError
from server.domain.media import media_room
from server.domain.placement import place_of
from server.domain.roles import Actor
from server.domain.talk import AskQuestion, MarkAnswered, RaiseHand, SendChat, Upvote
from server.web.pages.common import act_as, form_sid, service_of


def _here(request: Request, actor: Actor) -> str:
    svc = service_of(request)
    place = place_of(svc.state.rooms, svc.state.people, svc.schedule, actor.id, svc.clock.now())
    room = media_room(place)
    if room is None:
        raise DomainError(f"There is no room to talk in now ({place.label}).")
    return room


async def _run(request: Request, build: Any, done: str) -> Response:
    async def act(actor: Actor, form: Any) -> str:
        command: Command = build(actor, form)
        await service_of(request).execute(command, actor)
        return done

    return await act_as(request, act, flash_id="talk-result")


async def send(request: Request) -> Response:
    def build(actor: Actor, f: Any) -> Command:
        kind = str(f.get("kind", "chat"))
        text = str(f.get("text", ""))
        if kind not in ("chat", "private", "question"):
            raise DomainError(f"Send a message, a private line or a question, not {kind!r}.")
        if kind == "question":
            return AskQuestion(form_sid(f), _here(request, actor), text)
        return SendChat(form_sid(f), _here(request, actor), text, private=kind == "private")

    return await _run(request, build, "Sent.")


async def hand(request: Request) -> Response:
    def build(actor: Actor, f: Any) -> Command:
        raw = str(f.get("up", ""))
        if raw not in ("", "0", "1"):
            raise DomainError(f"up is 1 (raise) or 0 (lower), not {raw!r}.")
        up = None if raw == "" else raw == "1"
        return RaiseHand(_here(request, actor), up, str(f.get("person") or "") or None)

    return await _run(request, build, "Done.")


def _question(request: Request) -> int:
    raw = str(request.path_params["question"])
    if not raw.isdigit():
        raise DomainError(f"A question's number is a number, not {raw!r}.")
    return int(raw)


async def upvote(request: Request) -> Response:
    return await _run(request, lambda a, f: Upvote(_question(request)), "Upvoted.")


async def answered(request: Request) -> Response:
    return await _run(request, lambda a, f: MarkAnswered(_question(request)), "Marked answered.")


routes = [
    Route("/talk", send, methods=["POST"]),
    Route("/talk/hand", hand, methods=["POST"]),
    Route("/talk/questions/{question}/upvote", upvote, methods=["POST"]),
    Route("/talk/questions/{question}/answered", answered, methods=["POST"]),
]
