"""HTTP pages and form posts. Thin: parse, call the course service, render a template."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.access.links import SESSION_COOKIE, BadLink, Signer
from server.access.sessions import AmbiguousSession, person_for, session_actor, session_cookie
from server.domain.agenda import item_summary, utc_z
from server.domain.course_state import Announce, Command, DelayRunningItem
from server.domain.erasure import check_erasure
from server.domain.errors import DomainError, PermissionDenied
from server.domain.people_rules import ClaimCredit, RecordEvaluation, ReissueLink, RevokeLink
from server.domain.roles import ROLE_LABELS, Actor, Role
from server.domain.rooms import (
    AssignGroups,
    ChooseTrack,
    ClaimHelp,
    LockMember,
    MoveMember,
    Rebalance,
    ReleaseHelp,
    RequestHelp,
    ResolveHelp,
    learner_track,
)
from server.live.audiences import audiences_for, render_audience
from server.live.render import STATIC
from server.live.views.rooms import slug
from server.reports.calendar import agenda_ics
from server.reports.credit import credit_report
from server.service.clock import RehearsalClock
from server.service.course import CourseService
from server.store import StoreError

ROLE_PAGES = {
    Role.LEARNER: "learner.html",
    Role.SP: "sp.html",
    Role.FACILITATOR: "facilitator.html",
    Role.DIRECTOR: "director.html",
}


def _service(request: Request) -> CourseService:
    svc: CourseService = request.app.state.service
    return svc


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def current_actor(request: Request) -> Actor | None:
    """Who sent the request: its one session cookie, checked (SessionGuard refuses several)."""
    try:
        cookie = session_cookie(request.scope["headers"])
    except AmbiguousSession:
        return None
    return session_actor(_service(request).state.people, _signer(request), cookie)


def _page(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    """A page: the same partials its live socket will push, rendered for this viewer."""
    svc = _service(request)
    actor = current_actor(request)
    me = svc.state.people.get(actor.id) if actor else None
    parts: dict[str, str] = {}
    for audience in audiences_for(svc, actor):
        for template_name, html in render_audience(svc, audience, oob=False).items():
            parts[template_name] = parts.get(template_name, "") + html
    context: dict[str, Any] = {
        "course": svc.course,
        "v": svc.agenda_view(),
        "parts": parts,
        "oob": False,
        "clock_mode": svc.clock.describe(),
        "rehearsal": isinstance(svc.clock, RehearsalClock),
        "me": me,
        "role_label": ROLE_LABELS[me.role] if me else None,
        "my_track": learner_track(svc.state.rooms, me) if me else None,
        "tz": svc.schedule.tz,
        "media_ice": _media_ice(request),
    }
    html = svc.renderer.render(template, **context, **extra)
    return HTMLResponse(html, status_code=status)


def _media_ice(request: Request) -> str | None:
    """The ICE servers a page's media connection uses (JSON), or None without built-in media."""
    media = getattr(request.app.state, "media", None)
    return json.dumps(media.ice.browser()) if media is not None else None


def message_page(request: Request, heading: str, text: str, status: int) -> HTMLResponse:
    html = _service(request).renderer.render("message.html", heading=heading, text=text)
    return HTMLResponse(html, status_code=status)


def _flash(
    request: Request, text: str, error: bool = False, status: int = 200, flash_id: str = ""
) -> HTMLResponse:
    html = _service(request).renderer.render(
        "_flash.html", flash=text, flash_error=error, flash_id=flash_id
    )
    return HTMLResponse(html, status_code=status)


def link_for(request: Request, person_id: str) -> str:
    p = _service(request).state.people.by_id[person_id]
    token = _signer(request).link_token(p.id, p.link_version)
    return f"{str(request.base_url).rstrip('/')}/join/{token}"


# --- pages -----------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    actor = current_actor(request)
    if actor is not None and actor.role is Role.DIRECTOR:
        from server.domain.media import rooms_for_links

        state = _service(request).state
        link_rooms = rooms_for_links(state.rooms)
        labels = dict(link_rooms)
        links = [(k, labels.get(k, k), url) for k, url in sorted(state.media.links.items())]
        return _page(request, "director.html", link_rooms=link_rooms, media_links=links)
    return _page(request, ROLE_PAGES[actor.role] if actor else "index.html")


async def join(request: Request) -> Response:
    try:
        pid, version = _signer(request).read_link(request.path_params["token"])
        person = person_for(_service(request).state.people, pid, version)
    except BadLink as e:
        return message_page(request, "This link does not work", str(e), 403)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request).session_value(person.id, person.link_version),
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


async def director_page(request: Request) -> Response:
    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return message_page(
            request,
            "Course director only",
            "Open this page with the course director's personal link.",
            403,
        )
    return RedirectResponse("/", status_code=303)


async def my_credit(request: Request) -> Response:
    actor = current_actor(request)
    if actor is None:
        return message_page(request, "Sign in first", "Open your personal link first.", 403)
    svc = _service(request)
    report = credit_report(svc.state, svc.schedule, actor.id, svc.clock.now())
    return _page(request, "me.html", report=report)


async def certificate(request: Request) -> Response:
    actor = current_actor(request)
    if actor is None:
        return message_page(request, "Sign in first", "Open your personal link first.", 403)
    pid = request.path_params.get("person_id", actor.id)
    if pid != actor.id and actor.role is not Role.DIRECTOR:
        return message_page(request, "Not yours", "You can only see your own certificate.", 403)
    svc = _service(request)
    if svc.state.people.get(pid) is None:
        return message_page(request, "No such person", "Nobody on this course has that id.", 404)
    report = credit_report(svc.state, svc.schedule, pid, svc.clock.now())
    if report.claimed is None:
        return message_page(
            request,
            "No certificate yet",
            "A certificate is issued once credit has been claimed (after the course evaluation).",
            404,
        )
    return _page(request, "certificate.html", report=report)


# --- commands --------------------------------------------------------------------------------


async def _command(
    request: Request,
    build: Callable[[FormData], Command],
    done: Callable[[Command], str],
    flash_id: str = "",
) -> Response:
    """Parse a form into a command, run it as the signed-in person, answer with a flash."""

    async def act(actor: Actor, form: FormData) -> str:
        command = build(form)
        await _service(request).execute(command, actor)
        return done(command)

    return await _act(request, act, flash_id)


async def _act(
    request: Request,
    act: Callable[[Actor, FormData], Awaitable[str]],
    flash_id: str = "",
) -> Response:
    """Run `act` as the signed-in person with their form; its refusals become flashes."""
    actor = current_actor(request)
    if actor is None:
        return _flash(
            request, "Your session has ended; open your personal link again.", True, 403, flash_id
        )
    form = await request.form()
    try:
        text = await act(actor, form)
    except PermissionDenied as e:
        return _flash(request, str(e), True, 403, flash_id)
    except (DomainError, ValueError, KeyError) as e:
        return _flash(request, str(e).strip("'\""), True, 422, flash_id)
    except StoreError as e:
        return _flash(
            request, f"Not saved: {e}. Please try again in a moment.", True, 503, flash_id
        )
    return _flash(request, text, flash_id=flash_id)


def _int(form: FormData, name: str, label: str) -> int:
    raw = str(form.get(name, "")).strip()
    if not raw.lstrip("-").isdigit():
        raise ValueError(f"{label} must be a whole number, not {raw!r}.")
    return int(raw)


def _credits(form: FormData) -> ClaimCredit:
    raw = str(form.get("credits", "")).strip()
    try:
        return ClaimCredit(float(raw))
    except ValueError:
        raise ValueError(f"Credits must be a number like 12.25, not {raw!r}.") from None


async def delay(request: Request) -> Response:
    return await _command(
        request,
        lambda f: DelayRunningItem(_int(f, "minutes", "Minutes")),
        lambda c: f"Delayed the running item by {c.minutes} minutes.",  # type: ignore[union-attr]
    )


async def announce(request: Request) -> Response:
    return await _command(
        request,
        lambda f: Announce(str(f.get("text", "")), str(f.get("track", "")) or None),
        lambda c: "Message sent.",
    )


# --- breakouts -------------------------------------------------------------------------------


async def groups_assign(request: Request) -> Response:
    def build(f: FormData) -> Command:
        return AssignGroups(
            seed=_int(f, "seed", "Seed"),
            min_size=_int(f, "min_size", "The smallest size"),
            max_size=_int(f, "max_size", "The largest size"),
            teams=str(f.get("teams", "together")),
        )

    return await _command(request, build, lambda c: "Small groups formed.")


async def groups_move(request: Request) -> Response:
    return await _command(
        request,
        lambda f: MoveMember(str(f["person"]), str(f["group"])),
        lambda c: f"Moved to {c.group}.",  # type: ignore[union-attr]
    )


async def groups_lock(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await _command(
        request,
        lambda f: LockMember(pid, str(f.get("locked", "1")) == "1"),
        lambda c: "Locked in place." if c.locked else "Unlocked.",  # type: ignore[union-attr]
    )


async def groups_rebalance(request: Request) -> Response:
    return await _command(request, lambda f: Rebalance(), lambda c: "Groups rebalanced.")


async def choose_track(request: Request) -> Response:
    return await _command(
        request,
        lambda f: ChooseTrack(str(f.get("track", ""))),
        lambda c: f"You will join the {c.track} sessions.",  # type: ignore[union-attr]
        flash_id="track-result",
    )


async def request_help(request: Request) -> Response:
    return await _command(
        request,
        lambda f: RequestHelp(str(f.get("note", ""))),
        lambda c: "A facilitator has been called.",
        flash_id="help-result",
    )


async def claim_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await _command(
        request, lambda f: ClaimHelp(hid), lambda c: "It's yours.", flash_id="help-result"
    )


async def resolve_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await _command(
        request, lambda f: ResolveHelp(hid), lambda c: "Marked done.", flash_id="help-result"
    )


async def release_help(request: Request) -> Response:
    hid = int(request.path_params["help_id"])
    return await _command(
        request,
        lambda f: ReleaseHelp(hid),
        lambda c: "Released: the track's facilitators see it again.",
        flash_id="help-result",
    )


def _name(request: Request) -> str:
    p = _service(request).state.people.get(request.path_params["person_id"])
    return p.name if p else "that person"


async def reissue(request: Request) -> Response:
    pid = request.path_params["person_id"]
    response = await _command(request, lambda f: ReissueLink(pid), lambda c: "")
    if response.status_code != 200:
        return response
    return _flash(
        request,
        f"New link for {_name(request)} (the old one no longer works): {link_for(request, pid)}",
    )


async def revoke(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await _command(
        request, lambda f: RevokeLink(pid), lambda c: f"Revoked {_name(request)}'s link."
    )


async def erase(request: Request) -> Response:
    """Erase one person's data; the director types their email to confirm."""
    pid = request.path_params["person_id"]

    async def act(actor: Actor, form: FormData) -> str:
        svc = _service(request)
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

    return await _act(request, act)


async def record_evaluation(request: Request) -> Response:
    pid = request.path_params["person_id"]
    return await _command(
        request,
        lambda f: RecordEvaluation(pid),
        lambda c: f"Recorded {_name(request)}'s course evaluation.",
    )


async def claim(request: Request) -> Response:
    return await _command(
        request,
        _credits,
        lambda c: f"Claimed {c.credits:.2f} credits.",  # type: ignore[union-attr]
    )


MAX_ROSTER_BYTES = 2 * 1024 * 1024


async def import_roster(request: Request) -> Response:
    """The registration list uploaded from the director's page: good rows in, bad rows listed."""
    from server.domain.people_rules import ImportRoster
    from server.domain.roster import parse_roster

    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return _flash(request, "Only the course director may import the roster.", True, 403)
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("roster")
        if upload is None or isinstance(upload, str):
            return _flash(request, "Choose a CSV file to import.", True, 422)
        raw = await upload.read(MAX_ROSTER_BYTES + 1)
    if len(raw) > MAX_ROSTER_BYTES:
        return _flash(request, "That file is larger than 2 MB; is it the right one?", True, 422)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _flash(request, "That file is not UTF-8 text; save it as CSV (UTF-8).", True, 422)
    roster = parse_roster(text)
    try:
        events = await _service(request).execute(ImportRoster(tuple(roster.registrations)), actor)
    except StoreError as e:
        return _flash(request, f"Not saved: {e}. Please try again in a moment.", True, 503)
    new = sum(1 for e in events if e.type == "person.registered")
    text = (
        f"Imported {new} new, updated {len(events) - new}, "
        f"{len(roster.rows) - len(events)} unchanged."
    )
    if roster.problems:
        listed = "; ".join(str(p) for p in roster.problems[:20])
        more = f" (and {len(roster.problems) - 20} more)" if len(roster.problems) > 20 else ""
        text += f" {len(roster.problems)} rows not imported: {listed}{more}."
    return _flash(request, text, bool(roster.problems))


# --- role-play -------------------------------------------------------------------------------


def _roleplay_command(request: Request, group: str, action: str, form: FormData) -> Command:
    """The role-play command an action names. A learner's own forms carry no learner field:
    the signed-in person is the one volunteering."""
    from server.domain import media as md
    from server.domain import roleplay as rp

    actor = current_actor(request)
    learner = str(form.get("learner") or (actor.id if actor else ""))
    if action == "start":
        case = _service(request).library.get(str(form.get("scenario", "")))
        if case is None:
            raise DomainError("Choose a case from the library.")
        beats = tuple(b.id for b in case.beats)
        return rp.StartRoleplay(group, case.id, case.track, beats, case.door_note.time_minutes)
    simple: dict[str, Callable[[], Command]] = {
        "begin": lambda: rp.BeginTurn(group, learner, str(form.get("goal", ""))),
        "tagin": lambda: rp.TagIn(group, learner, str(form.get("goal", ""))),
        "timeout": lambda: rp.TimeOut(group),
        "timein": lambda: rp.TimeIn(group),
        "rewind": lambda: rp.Rewind(group, str(form.get("beat", ""))),
        "beat": lambda: rp.ReachBeat(group, str(form.get("beat", ""))),
        "intensity": lambda: rp.SetIntensity(group, _int(form, "level", "Intensity")),
        "cue": lambda: rp.SendCue(group, str(form.get("text", ""))),
        "end-turn": lambda: rp.EndTurn(group),
        "end": lambda: rp.EndRoleplay(group),
        "recording": lambda: md.SetRecording(group, _yes_no(form, "on")),
        "consent": lambda: md.GiveConsent(group, _yes_no(form, "given")),
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
    return await _command(
        request,
        lambda f: _roleplay_command(request, group, action, f),
        lambda c: ROLEPLAY_DONE.get(action, "Done."),
        flash_id=f"rp-result-{dom}",
    )


async def clock_next(request: Request) -> Response:
    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return _flash(request, "Only the course director may move the clock.", True, 403)
    svc = _service(request)
    nxt = svc.schedule.next(svc.clock.now())
    if nxt is None:
        return _flash(request, "Nothing more on the agenda.", True, 422)
    form = await request.form()
    try:
        # A lead lets a rehearsal watch the change happen: "10 s before the next item".
        lead = _int(form, "lead", "Lead") if form.get("lead") else 0
        if not 0 <= lead <= 600:
            raise ValueError("Lead must be 0 to 600 seconds.")
        await svc.move_clock(nxt.start - timedelta(seconds=lead), actor)
    except StoreError as e:
        return _flash(request, f"Not moved: {e}. Please try again in a moment.", True, 503)
    except (DomainError, ValueError) as e:
        return _flash(request, str(e), True, 422)
    before = f"{lead} s before" if lead else "the start of"
    return _flash(request, f"Clock moved to {before} “{nxt.item.title}”.")


# --- feedback, reflections, evaluations -------------------------------------------------------


def _sid(form: FormData) -> str:
    """The submission id the page made; a page without script gets a fresh one."""
    return str(form.get("sid") or "") or secrets.token_urlsafe(16)


def _answers(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    """Answers (`a.<item>`) and the moments of quotes (`m.<item>`) from a posted form."""
    answers = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("a.")}
    moments = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("m.")}
    return answers, moments


def _turn(request: Request) -> tuple[str, int]:
    raw = request.path_params["turn"]
    if not str(raw).isdigit():
        raise DomainError(f"Turn must be a number, not {raw!r}.")
    return request.path_params["group"], int(raw)


async def feedback_submit(request: Request) -> Response:
    from server.content.instruments import spec
    from server.domain.feedback import SubmitFeedback
    from server.live.views.feedback import turn_instrument

    svc = _service(request)

    def build(f: FormData) -> Command:
        group, number = _turn(request)
        turns = svc.state.roleplays.of(group).turns
        turn = turns[number - 1] if 0 < number <= len(turns) else None
        inst = turn_instrument(turn, svc.library, svc.instruments)
        answers, moments = _answers(f)
        return SubmitFeedback(_sid(f), group, number, inst.id, spec(inst), answers, moments)

    return await _command(request, build, lambda c: "Feedback saved.", flash_id="fb-result")


async def feedback_release(request: Request) -> Response:
    from server.domain.feedback import ReleaseFeedback

    return await _command(
        request,
        lambda f: ReleaseFeedback(*_turn(request)),
        lambda c: "Released: the learner sees their feedback now.",
        flash_id=f"tally-result-{slug(request.path_params['group'])}",
    )


async def next_time(request: Request) -> Response:
    from server.domain.feedback import WriteNextTime

    return await _command(
        request,
        lambda f: WriteNextTime(_sid(f), *_turn(request), str(f.get("text", ""))),
        lambda c: "Saved.",
        flash_id="fb-result",
    )


# --- data ------------------------------------------------------------------------------------


def agenda_now(svc: CourseService) -> dict[str, Any]:
    now = svc.clock.now()
    cur, nxt = svc.schedule.current(now), svc.schedule.next(now)
    return {
        "now": utc_z(now),
        "timezone": svc.course.timezone,
        "current": item_summary(svc.schedule, cur) if cur else None,
        "next": item_summary(svc.schedule, nxt) if nxt else None,
    }


async def agenda_json(request: Request) -> Response:
    return JSONResponse(agenda_now(_service(request)))


async def agenda_ics_view(request: Request) -> Response:
    body = agenda_ics(_service(request).schedule)
    headers = {"Content-Disposition": 'attachment; filename="agenda.ics"'}
    return Response(body, media_type="text/calendar", headers=headers)


async def person_export(request: Request) -> Response:
    """Everything the course holds about one person, as a JSON download (director only)."""
    from server.reports.exports import person_record

    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return Response("Only the course director may export a person's data.", 403)
    svc = _service(request)
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


async def healthz(request: Request) -> Response:
    svc = _service(request)
    body = {
        "status": "ok" if svc.store_ok else "degraded: the course log is unreachable",
        "course": svc.course.id,
        "seq": svc.state.seq,
        "clock": svc.clock.describe(),
        "now": utc_z(svc.clock.now()),
        "now_epoch": svc.clock.now().timestamp(),
        "connections": len(svc.hub.connections),
        "people": len(svc.state.people.by_id),
        "online": sum(1 for p in svc.state.people.by_id.values() if p.online),
        "store": svc.store.url.split("://")[0],
        "boundary": svc.last_boundary,
    }
    collector = getattr(request.app.state, "collector", None)
    if collector is not None:
        body["gc"] = collector.stats.as_dict()
    return Response(json.dumps(body), media_type="application/json")


routes = [
    Route("/", index),
    Route("/join/{token}", join),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/me", my_credit),
    Route("/me/claim", claim, methods=["POST"]),
    Route("/certificate", certificate),
    Route("/director", director_page),
    Route("/director/delay", delay, methods=["POST"]),
    Route("/director/announce", announce, methods=["POST"]),
    Route("/director/clock/next", clock_next, methods=["POST"]),
    Route("/director/roster", import_roster, methods=["POST"]),
    Route("/director/groups/assign", groups_assign, methods=["POST"]),
    Route("/director/groups/move", groups_move, methods=["POST"]),
    Route("/director/groups/rebalance", groups_rebalance, methods=["POST"]),
    Route("/director/groups/lock/{person_id}", groups_lock, methods=["POST"]),
    Route("/me/track", choose_track, methods=["POST"]),
    Route("/help", request_help, methods=["POST"]),
    Route("/rp/{group}/{action}", roleplay_action, methods=["POST"]),
    Route("/fb/{group}/{turn}", feedback_submit, methods=["POST"]),
    Route("/fb/{group}/{turn}/release", feedback_release, methods=["POST"]),
    Route("/fb/{group}/{turn}/next", next_time, methods=["POST"]),
    Route("/help/{help_id:int}/claim", claim_help, methods=["POST"]),
    Route("/help/{help_id:int}/resolve", resolve_help, methods=["POST"]),
    Route("/help/{help_id:int}/release", release_help, methods=["POST"]),
    Route("/director/people/{person_id}/reissue", reissue, methods=["POST"]),
    Route("/director/people/{person_id}/revoke", revoke, methods=["POST"]),
    Route("/director/people/{person_id}/evaluation", record_evaluation, methods=["POST"]),
    Route("/director/people/{person_id}/certificate", certificate),
    Route("/director/people/{person_id}/export", person_export),
    Route("/director/people/{person_id}/erase", erase, methods=["POST"]),
    Route("/agenda.json", agenda_json),
    Route("/agenda.ics", agenda_ics_view),
    Route("/healthz", healthz),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
