"""Pages for reflections, evaluations, the learner's portfolio and the results charts.

Private reflections are shown to their author only: every list here is built from the rule in
`reflections.readable`, so no page can show someone else's private entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.content.instruments import evaluation_form, required, spec
from server.domain.agenda import ScheduledItem
from server.domain.course_state import Command
from server.domain.evaluations import (
    COURSE_EVALUATION,
    SubmitEvaluation,
    evaluation_keys,
    evaluation_opens,
)
from server.domain.reflections import ShareReflection, WriteReflection, readable
from server.domain.roles import Actor, Role
from server.live.views.feedback import course_results, learner_portfolio
from server.service.course import CourseService
from server.web.pages.common import (
    form_answers,
    form_sid,
    message_page,
    render_page,
    requires,
    run_command,
    service_of,
)


def prompt_item(svc: CourseService, now: datetime) -> tuple[ScheduledItem | None, str]:
    """The agenda item whose reflection prompts to offer: the running one, else the last one
    that ran, else the next one. The second value says which."""
    items = [s for s in svc.schedule if s.item.prompts]
    for s in items:
        if s.contains(now):
            return s, "now"
    past = [s for s in items if s.end <= now]
    if past:
        return past[-1], "past"
    upcoming = [s for s in items if s.start > now]
    return (upcoming[0], "next") if upcoming else (None, "")


@requires()
async def reflections_page(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    item, when = prompt_item(svc, svc.clock.now())
    state = svc.state
    names = {p.id: p.name for p in state.people.by_id.values()}
    return render_page(
        request,
        "pages/reflections.html",
        item=item,
        item_when=when,
        mine=tuple(reversed(state.feedback.reflections_of(actor.id))),
        others=tuple(
            r
            for r in reversed(readable(state.feedback, actor, state.rooms))
            if r.author != actor.id
        ),
        names=names,
        my_group=state.rooms.group_of(actor.id),
    )


async def write_reflection(request: Request) -> Response:
    def build(f: FormData) -> Command:
        prompt = str(f.get("prompt", ""))
        return WriteReflection(
            form_sid(f),
            str(f.get("item", "")),
            prompt,
            str(f.get("text", "")),
            f.get("share") == "1",
        )

    return await run_command(request, build, lambda c: "Reflection saved.", flash_id="refl-result")


async def share_reflection(request: Request) -> Response:
    sid = request.path_params["sid"]
    return await run_command(
        request,
        lambda f: ShareReflection(sid, f.get("share") == "1"),
        lambda c: "Shared with your group." if c.share else "Private again.",  # type: ignore[union-attr]
        flash_id="refl-result",
    )


def _evaluations(svc: CourseService, actor: Actor) -> list[dict[str, Any]]:
    now = svc.clock.now()
    done = svc.state.feedback.evaluations
    out = []
    for key in evaluation_keys(svc.schedule):
        form = evaluation_form(svc.evaluations, key)
        opens = evaluation_opens(svc.schedule, key)
        title = form.title if key == COURSE_EVALUATION else f"{form.title}: day {key[4:]}"
        out.append(
            {
                "key": key,
                "title": title,
                "opens": opens,
                "open": now >= opens,
                "submitted": done.get((actor.id, key)),
            }
        )
    return out


@requires()
async def evaluations_page(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    return render_page(request, "pages/evaluations.html", forms=_evaluations(svc, actor))


@requires()
async def evaluation_page(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    key = request.path_params["key"]
    found = next((f for f in _evaluations(svc, actor) if f["key"] == key), None)
    if found is None:
        return message_page(request, "No such evaluation", f"There is no evaluation {key!r}.", 404)
    form = evaluation_form(svc.evaluations, key)
    prev = found["submitted"].answers if found["submitted"] else {}
    return render_page(request, "pages/evaluation.html", ev=found, form=form, prev=prev)


async def submit_evaluation(request: Request) -> Response:
    svc = service_of(request)
    key = request.path_params["key"]

    def build(f: FormData) -> Command:
        answers, _ = form_answers(f)
        form = evaluation_form(svc.evaluations, key)
        return SubmitEvaluation(form_sid(f), key, spec(form), answers, required(form))

    def done(c: Command) -> str:
        if key == COURSE_EVALUATION:
            return "Thank you. You can now claim your credit on “My attendance & credit”."
        return "Thank you; your evaluation is saved."

    return await run_command(request, build, done, flash_id="eval-result")


@requires()
async def portfolio(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    pid = request.path_params.get("person_id", actor.id)
    if pid != actor.id and actor.role is not Role.DIRECTOR:
        return message_page(request, "Not yours", "You can only see your own portfolio.", 403)
    person = svc.state.people.get(pid)
    if person is None:
        return message_page(request, "No such person", "Nobody on this course has that id.", 404)
    own = pid == actor.id
    reflections = readable(svc.state.feedback, actor, svc.state.rooms, author=pid)
    turns = learner_portfolio(svc.state, svc.library, svc.instruments, pid)
    return render_page(
        request,
        "pages/portfolio.html",
        person=person,
        turns=turns,
        reflections=reflections,
        own=own,
    )


@requires()
async def results(request: Request, actor: Actor) -> Response:
    if actor.role not in (Role.FACILITATOR, Role.DIRECTOR):
        return message_page(
            request, "Facilitators only", "Results are for facilitators and the director.", 403
        )
    svc = service_of(request)
    state = svc.state
    groups = (
        sorted(state.rooms.groups)
        if actor.role is Role.DIRECTOR
        else [g.name for g in state.rooms.staff_groups(actor.id)]
    )
    chosen = request.query_params.get("group") or (groups[0] if groups else "")
    if chosen and chosen not in groups:
        return message_page(request, "Not your group", f"You do not run {chosen!r}.", 403)
    return render_page(
        request,
        "pages/results.html",
        course_blocks=course_results(state, svc.instruments),
        group_blocks=course_results(state, svc.instruments, chosen) if chosen else (),
        groups=groups,
        chosen=chosen,
    )


routes = [
    Route("/reflections", reflections_page),
    Route("/reflections", write_reflection, methods=["POST"]),
    Route("/reflections/{sid}/share", share_reflection, methods=["POST"]),
    Route("/evaluations", evaluations_page),
    Route("/evaluations/{key}", evaluation_page),
    Route("/evaluations/{key}", submit_evaluation, methods=["POST"]),
    Route("/portfolio", portfolio),
    Route("/director/people/{person_id}/portfolio", portfolio),
    Route("/results", results),
]
