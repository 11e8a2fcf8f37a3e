"""Cases and instruments written in the browser: the list, the editor with its live check and
previews (as the learner, the SP and the facilitator see a case; as an observer sees a form),
publishing a version, the director naming case authors, and each entry's YAML to download.

Who may: the director and the case authors they name (domain/authoring.py decides again for
every command). The check is the one `companion scenarios check` runs (the content schema, and
that every case still makes a feedback form), on the text as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from server.content.cases import Scenario
from server.content.files import ContentError, Problem, entry_from_text
from server.content.instruments import Instrument, form_problems
from server.content.shelf import Shelf, changed
from server.domain.authoring import KINDS, MAX_TEXT, NameAuthor, Publish, may_author
from server.domain.errors import DomainError
from server.domain.roles import Actor, Role
from server.web.pages.common import (
    attempt,
    flash,
    message_page,
    render_page,
    requires,
    service_of,
)

MODELS: dict[str, type[BaseModel]] = {"case": Scenario, "instrument": Instrument}
WHAT = {"case": "scenario", "instrument": "instrument"}
SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _shelf(request: Request, kind: str) -> Shelf[Any]:
    svc = service_of(request)
    shelf = svc.library if kind == "case" else svc.instruments
    if not isinstance(shelf, Shelf):
        raise DomainError("Authoring needs the course's shelves of cases and instruments.")
    return shelf


def _refuse(request: Request, actor: Actor) -> Response | None:
    if may_author(service_of(request).state.authoring, actor):
        return None
    return message_page(
        request,
        "Case authors only",
        "The course director, and the people they name as case authors, write cases here.",
        403,
    )


@dataclass(frozen=True)
class Checked:
    """The text as typed, checked: the entry it makes, or the problems by field and line."""

    entry: BaseModel | None
    problems: tuple[Problem, ...]
    changed: tuple[str, ...]


def check(request: Request, kind: str, entry_id: str, text: str) -> Checked:
    """The same checks as `companion scenarios check`, on `text` as the entry `entry_id`."""
    if len(text) > MAX_TEXT:
        problem = Problem("", f"keep it under {MAX_TEXT:,} characters ({len(text):,} now)", None)
        return Checked(None, (problem,), ())
    shelf = _shelf(request, kind)
    try:
        entry = entry_from_text(MODELS[kind], text, entry_id, WHAT[kind], entry_id)
    except ContentError as e:
        return Checked(None, tuple(e.problems), ())
    svc = service_of(request)
    library: Mapping[str, Scenario] = svc.library
    instruments: Mapping[str, Instrument] = svc.instruments
    if isinstance(entry, Scenario):
        library = {entry.id: entry}
    else:
        assert isinstance(entry, Instrument)
        instruments = {**instruments, entry.id: entry}
    found = form_problems(library, instruments)
    problems = tuple(Problem("instruments", p, None) for p in found)
    return Checked(entry, problems, changed(shelf.get(entry_id), entry))


def _previews(request: Request, checked: Checked) -> dict[str, str]:
    """The entry rendered as each role would see it, by the templates the live pages use."""
    entry = checked.entry
    svc = service_of(request)
    r = svc.renderer
    if isinstance(entry, Scenario):
        from server.live.views.roleplay import preview_views

        views = preview_views(entry, svc.view_time())
        templates = {
            "learner": "live/rp_learner.html",
            "sp": "live/rp_sp.html",
            "facilitator": "live/rp_facilitator.html",
        }
        return {role: r.render(templates[role], r=v, oob=False) for role, v in views.items()}
    if isinstance(entry, Instrument):
        return {"observer": r.render("includes/author_form_preview.html", inst=entry)}
    return {}


def _editor(
    request: Request, actor: Actor, kind: str, entry_id: str, text: str, base: int, new: bool
) -> Response:
    svc = service_of(request)
    shelf = _shelf(request, kind)
    checked = check(request, kind, entry_id, text)
    versions = svc.state.authoring.of(kind, entry_id)
    names = {p.id: p.name for p in svc.state.people.by_id.values()}
    return render_page(
        request,
        "pages/author_edit.html",
        kind=kind,
        entry_id=entry_id,
        text=text,
        base=base,
        new=new,
        checked=checked,
        previews=_previews(request, checked),
        versions=tuple(reversed(versions)),
        names=names,
        shipped=entry_id in shelf.files,
    )


@requires()
async def author_home(request: Request, actor: Actor) -> Response:
    refused = _refuse(request, actor)
    if refused:
        return refused
    svc = service_of(request)
    cases, instruments = _shelf(request, "case"), _shelf(request, "instrument")
    state = svc.state.authoring
    people = sorted(svc.state.people.by_id.values(), key=lambda p: p.name)
    return render_page(
        request,
        "pages/author.html",
        cases=sorted(cases.values(), key=lambda s: (s.track, s.skill.value, s.title)),
        instruments=sorted(instruments.values(), key=lambda i: i.title),
        number=state.number,
        authors=[p for p in people if p.id in state.authors],
        candidates=[p for p in people if p.id not in state.authors and p.role is not Role.DIRECTOR],
        is_director=actor.role is Role.DIRECTOR,
        problems=sorted({**cases.problems, **instruments.problems}.items()),
    )


def _kind_and_id(request: Request) -> tuple[str, str]:
    kind, entry_id = request.path_params["kind"], request.path_params["entry"]
    if kind not in KINDS:
        raise DomainError(f"There are cases and instruments, not {kind!r}.")
    return kind, entry_id


@requires()
async def author_edit(request: Request, actor: Actor) -> Response:
    refused = _refuse(request, actor)
    if refused:
        return refused
    try:
        kind, entry_id = _kind_and_id(request)
    except DomainError as e:
        return message_page(request, "Not found", str(e), 404)
    shelf = _shelf(request, kind)
    text = shelf.text_of(entry_id)
    if text is None:
        return message_page(request, "Not found", f"There is no {kind} {entry_id!r}.", 404)
    base = service_of(request).state.authoring.number(kind, entry_id)
    return _editor(request, actor, kind, entry_id, text, base, new=False)


@requires()
async def author_new(request: Request, actor: Actor) -> Response:
    """A new entry from a template: an existing one's text under a new id."""
    refused = _refuse(request, actor)
    if refused:
        return refused
    kind = request.query_params.get("kind", "case")
    entry_id = request.query_params.get("id", "").strip().lower()
    template = request.query_params.get("from", "")
    if kind not in KINDS:
        return message_page(
            request, "Not found", f"There are cases and instruments, not {kind!r}.", 404
        )
    shelf = _shelf(request, kind)
    if not entry_id or not set(entry_id) <= SLUG_CHARS or len(entry_id) > 64:
        return message_page(
            request,
            "Choose an id",
            "A new id is lowercase letters, digits and hyphens (e.g. adult-pain-sickle-cell).",
            422,
        )
    if entry_id in shelf:
        return message_page(
            request,
            "Already taken",
            f"There is already a {kind} {entry_id!r}; edit it instead.",
            409,
        )
    source = shelf.text_of(template)
    if source is None:
        return message_page(
            request, "Choose a template", f"There is no {kind} {template!r} to start from.", 422
        )
    text = _with_id(source, template, entry_id)
    return _editor(request, actor, kind, entry_id, text, 0, new=True)


def _with_id(text: str, old: str, new: str) -> str:
    """`text` with its top-level `id:` line set to `new`."""
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if line.startswith("id:"):
            lines[n] = f"id: {new}\n"
            break
    return "".join(lines)


@requires(reply="flash")
async def author_check(request: Request, actor: Actor) -> Response:
    """The live check as the author types: problems by field and line, and the previews."""
    if not may_author(service_of(request).state.authoring, actor):
        return flash(request, "Only the director and named case authors write cases.", True, 403)
    try:
        kind, entry_id = _kind_and_id(request)
    except DomainError as e:
        return flash(request, str(e), True, 404)
    form = await request.form()
    text = str(form.get("text", ""))
    checked = check(request, kind, entry_id, text)
    html = service_of(request).renderer.render(
        "includes/author_check.html",
        kind=kind,
        checked=checked,
        previews=_previews(request, checked),
    )
    return HTMLResponse(html)


@requires(reply="flash")
async def author_publish(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    if not may_author(svc.state.authoring, actor):
        return flash(request, "Only the director and named case authors publish.", True, 403)

    async def act(actor: Actor, form: Any) -> str:
        kind, entry_id = _kind_and_id(request)
        text = str(form.get("text", ""))
        raw = str(form.get("base", ""))
        if not raw.isdigit():
            raise DomainError(f"The version you started from must be a number, not {raw!r}.")
        checked = check(request, kind, entry_id, text)
        if checked.problems:
            first = checked.problems[0]
            where = f"{first.field or 'top level'}" + (f", line {first.line}" if first.line else "")
            more = f" (and {len(checked.problems) - 1} more)" if len(checked.problems) > 1 else ""
            raise DomainError(f"Not published: {where}: {first.message}{more}.")
        await svc.execute(Publish(kind, entry_id, text, checked.changed, int(raw)), actor)
        number = svc.state.authoring.number(kind, entry_id)
        return f"Published version {number} ({', '.join(checked.changed)} changed)."

    text, error, status = await attempt(act, actor, await request.form())
    kind, entry_id = request.path_params["kind"], request.path_params["entry"]
    link = None if error else (f"/author/{kind}/{entry_id}", "Open the published version")
    return flash(request, text, error, status, "author-result", link)


@requires(Role.DIRECTOR, reply="flash")
async def author_people(request: Request, actor: Actor) -> Response:
    svc = service_of(request)

    async def act(actor: Actor, form: Any) -> str:
        person = str(form.get("person", ""))
        named = str(form.get("named", "1")) == "1"
        await svc.execute(NameAuthor(person, named), actor)
        p = svc.state.people.get(person)
        name = p.name if p else person
        return f"{name} {'may now write cases' if named else 'no longer writes cases'}."

    text, error, status = await attempt(act, actor, await request.form())
    return flash(
        request,
        text,
        error,
        status,
        "authors-result",
        None if error else ("/author", "Refresh the list"),
    )


@requires(reply="text")
async def author_yaml(request: Request, actor: Actor) -> Response:
    if not may_author(service_of(request).state.authoring, actor):
        return Response("Case authors only.", 403, media_type="text/plain; charset=utf-8")
    kind, entry_id = request.path_params["kind"], request.path_params["entry"]
    if kind not in KINDS:
        return Response("No such kind.", 404, media_type="text/plain; charset=utf-8")
    text = _shelf(request, kind).text_of(entry_id)
    if text is None:
        return Response("No such entry.", 404, media_type="text/plain; charset=utf-8")
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{entry_id}.yaml"'},
    )


routes = [
    Route("/author", author_home),
    Route("/author/new", author_new),
    Route("/author/people", author_people, methods=["POST"]),
    Route("/author/{kind}/{entry}.yaml", author_yaml),
    Route("/author/{kind}/{entry}", author_edit),
    Route("/author/{kind}/{entry}/check", author_check, methods=["POST"]),
    Route("/author/{kind}/{entry}/publish", author_publish, methods=["POST"]),
]
