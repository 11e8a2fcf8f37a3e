"""Joining with a personal link, the role pages, and the director's people list: links, the
registration list, evaluations received on paper, one person's data and its erasure."""

from __future__ import annotations

import json

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access.links import SESSION_COOKIE, BadLink
from server.access.sessions import person_for
from server.domain.erasure import check_erasure
from server.domain.errors import PermissionDenied
from server.domain.people_rules import RecordEvaluation, ReissueLink, RevokeLink
from server.domain.roles import Actor, Role
from server.store import StoreError
from server.web.pages.common import (
    ROLE_PAGES,
    act_as,
    current_actor,
    flash,
    link_for,
    message_page,
    render_page,
    requires,
    run_command,
    service_of,
    signer_of,
)


async def index(request: Request) -> Response:
    actor = current_actor(request)
    return render_page(request, ROLE_PAGES[actor.role] if actor else "pages/index.html")


async def join(request: Request) -> Response:
    try:
        pid, version = signer_of(request).read_link(request.path_params["token"])
        person = person_for(service_of(request).state.people, pid, version)
    except BadLink as e:
        return message_page(request, "This link does not work", str(e), 403)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signer_of(request).session_value(person.id, person.link_version),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=14 * 24 * 3600,
    )
    return response


async def sign_out(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@requires(Role.DIRECTOR)
async def director_page(request: Request, actor: Actor) -> Response:
    return RedirectResponse("/", status_code=303)


def _name(request: Request) -> str:
    p = service_of(request).state.people.get(request.path_params["person_id"])
    return p.name if p else "that person"


async def reissue(request: Request) -> Response:
    pid = request.path_params["person_id"]
    response = await run_command(request, lambda f: ReissueLink(pid), lambda c: "")
    if response.status_code != 200:
        return response
    return flash(
        request,
        f"New link for {_name(request)} (the old one no longer works): {link_for(request, pid)}",
    )


async def mail(request: Request) -> Response:
    """Email invitations: to one person again (/director/people/{id}/mail), or to everyone not
    yet sent their current link (/director/mail/invite). Every send and refusal is recorded."""
    import os

    from server.reports.mail import MailSettingsError, SmtpSettings, send

    async def act(actor: Actor, form: FormData) -> str:
        if actor.role is not Role.DIRECTOR:
            raise PermissionDenied("Only the course director sends mail.")
        svc = service_of(request)
        pid = request.path_params.get("person_id")
        if pid is not None and (svc.state.people.get(pid) is None):
            raise ValueError("No such person on this course.")
        try:
            settings = SmtpSettings.from_env()
        except MailSettingsError as e:
            raise ValueError(f"Mail is not set up on this server: {e}") from None
        base = os.environ.get("COMPANION_BASE_URL") or str(request.base_url)
        to = [pid] if pid else []
        kind = "invite"
        if request.url.path.endswith("/remind"):
            day = str(form.get("day", ""))
            if not day.isdigit() or not 1 <= int(day) <= svc.course.days:
                raise ValueError(f"Choose a course day from 1 to {svc.course.days}.")
            kind = f"reminder-day-{int(day)}"
        results = await send(svc, signer_of(request), base, settings, kind, to, actor=actor)
        failed = [r for r in results if not r.ok]
        if pid is not None:
            r = results[0]
            return f"Sent {r.person.name} their link." if r.ok else f"Not sent: {r.detail}"
        what = "invitations" if kind == "invite" else "reminders"
        text = f"Sent {len(results) - len(failed)} {what}"
        if failed:
            text += f"; {len(failed)} failed (see the people list)"
        if results:
            return text + "."
        if kind == "invite":
            return "Everyone has been sent their current link."
        return "Everyone invited has had this reminder."

    return await act_as(request, act)


async def revoke(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await run_command(
        request, lambda f: RevokeLink(pid), lambda c: f"Revoked {_name(request)}'s link."
    )


async def erase(request: Request) -> Response:
    """Erase one person's data; the director types their email to confirm."""
    pid = request.path_params["person_id"]

    async def act(actor: Actor, form: FormData) -> str:
        svc = service_of(request)
        p = check_erasure(svc.state, actor, pid)
        typed = str(form.get("confirm", "")).strip().lower()
        if typed != p.reg.email.lower():
            raise ValueError(
                f"To erase {p.name}'s data, type their email ({p.reg.email}) in the box; "
                "nothing was erased."
            )
        await svc.erase_person(pid, actor)
        return (
            f"Erased {p.name}'s data; the course now shows an erased participant. Remove them "
            "from the registration list too, or the next import registers them again."
        )

    return await act_as(request, act)


async def record_evaluation(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await run_command(
        request,
        lambda f: RecordEvaluation(pid),
        lambda c: f"Recorded {_name(request)}'s course evaluation.",
    )


MAX_ROSTER_BYTES = 2 * 1024 * 1024


async def import_roster(request: Request) -> Response:
    """The registration list uploaded from the director's page: good rows in, bad rows listed."""
    from server.domain.people_rules import ImportRoster
    from server.domain.roster import parse_roster

    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return flash(request, "Only the course director may import the roster.", True, 403)
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("roster")
        if upload is None or isinstance(upload, str):
            return flash(request, "Choose a CSV file to import.", True, 422)
        raw = await upload.read(MAX_ROSTER_BYTES + 1)
    if len(raw) > MAX_ROSTER_BYTES:
        return flash(request, "That file is larger than 2 MB; is it the right one?", True, 422)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return flash(request, "That file is not UTF-8 text; save it as CSV (UTF-8).", True, 422)
    roster = parse_roster(text)
    try:
        events = await service_of(request).execute(ImportRoster(tuple(roster.registrations)), actor)
    except StoreError as e:
        return flash(request, f"Not saved: {e}. Please try again in a moment.", True, 503)
    new = sum(1 for e in events if e.type == "person.registered")
    text = (
        f"Imported {new} new, updated {len(events) - new}, "
        f"{len(roster.rows) - len(events)} unchanged."
    )
    if roster.problems:
        listed = "; ".join(str(p) for p in roster.problems[:20])
        more = f" (and {len(roster.problems) - 20} more)" if len(roster.problems) > 20 else ""
        text += f" {len(roster.problems)} rows not imported: {listed}{more}."
    return flash(request, text, bool(roster.problems))


async def person_export(request: Request) -> Response:
    """Everything the course holds about one person, as a JSON download (director only)."""
    from server.reports.exports import person_record

    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return Response("Only the course director may export a person's data.", 403)
    svc = service_of(request)
    pid = request.path_params["person_id"]
    try:
        record = person_record(svc.state, svc.schedule, pid, svc.clock.now())
    except KeyError:
        return Response("No such person on this course.", 404)
    return Response(
        json.dumps(record, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="person-{pid}.json"',
            "cache-control": "no-store",
        },
    )


routes = [
    Route("/", index),
    Route("/join/{token}", join),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/director", director_page),
    Route("/director/roster", import_roster, methods=["POST"]),
    Route("/director/people/{person_id}/reissue", reissue, methods=["POST"]),
    Route("/director/people/{person_id}/revoke", revoke, methods=["POST"]),
    Route("/director/people/{person_id}/mail", mail, methods=["POST"]),
    Route("/director/mail/invite", mail, methods=["POST"]),
    Route("/director/mail/remind", mail, methods=["POST"]),
    Route("/director/people/{person_id}/evaluation", record_evaluation, methods=["POST"]),
    Route("/director/people/{person_id}/export", person_export),
    Route("/director/people/{person_id}/erase", erase, methods=["POST"]),
]
