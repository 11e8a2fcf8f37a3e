"""A learner's attendance and credit, their claims and certificates; the director's credit
report and the files boards take."""

from __future__ import annotations

import math

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from server.domain.credit import ClaimCredit
from server.domain.designations import Report
from server.domain.roles import Actor, Role
from server.reports.credit import CreditReport, credit_report
from server.web.pages.common import (
    attempt,
    current_actor,
    message_page,
    render_page,
    requires,
    service_of,
)


@requires()
async def my_credit(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    report = credit_report(svc.state, svc.schedule, actor.id, svc.clock.now())
    return render_page(request, "pages/me.html", report=report)


def _report_of(request: Request, actor: Actor) -> CreditReport | Response:
    """The credit report of the person the address names (the viewer's own, or for the
    director anyone's), or the page saying why not."""
    pid = request.path_params.get("person_id", actor.id)
    if pid != actor.id and actor.role is not Role.DIRECTOR:
        return message_page(request, "Not yours", "You can only see your own certificates.", 403)
    svc = service_of(request)
    if svc.state.people.get(pid) is None:
        return message_page(request, "No such person", "Nobody on this course has that id.", 404)
    return credit_report(svc.state, svc.schedule, pid, svc.clock.now())


@requires()
async def certificate(request: Request, actor: Actor) -> Response:
    report = _report_of(request, actor)
    if isinstance(report, Response):
        return report
    type_id = request.path_params.get("type_id")
    claimed = report.claims
    if not claimed:
        return message_page(
            request,
            "No certificate yet",
            "A certificate is issued once credit has been claimed (after the course evaluation).",
            404,
        )
    if type_id is None:
        if len(claimed) == 1:
            type_id = claimed[0].type.id
        else:
            base = request.url.path.rstrip("/")
            return render_page(request, "pages/certificates.html", report=report, base=base)
    standing = report.standing(type_id)
    if standing is None or standing.claim is None:
        return message_page(
            request, "No such certificate", "Nothing of that credit type has been claimed.", 404
        )
    parts = tuple(
        s for s in report.claims if s.type.part_of == standing.type.id and s.claim is not None
    )
    main = service_of(request).course.designations.main
    return render_page(
        request, "pages/certificate.html", report=report, st=standing, part_claims=parts, main=main
    )


@requires()
async def transcript(request: Request, actor: Actor) -> Response:
    report = _report_of(request, actor)
    if isinstance(report, Response):
        return report
    return render_page(request, "pages/transcript.html", report=report)


def _claim_of(form: FormData) -> ClaimCredit:
    kind = str(form.get("type", "")).strip()
    raw = str(form.get("amount", "")).strip()
    try:
        amount = float(raw)
    except ValueError:
        raise ValueError(f"The amount must be a number like 12.25, not {raw!r}.") from None
    if not math.isfinite(amount):
        raise ValueError(f"The amount must be a number like 12.25, not {raw!r}.")
    if form.get("attest") != "yes":
        raise ValueError("Tick the attestation: you claim only what matches your participation.")
    return ClaimCredit(kind, amount, consent=form.get("consent") == "yes")


async def claim(request: Request) -> Response:
    """Claim one credit type; the answer is the claims section again, with what happened."""
    actor = current_actor(request)
    if actor is None:
        return Response("Your session has ended; open your personal link again.", 403)
    if actor.role is not Role.LEARNER:
        return Response("Only learners claim credit.", 403)
    svc = service_of(request)
    form = await request.form()

    async def act(actor: Actor, form: FormData) -> str:
        command = _claim_of(form)
        await svc.execute(command, actor)
        t = svc.course.designations.get(command.type)
        return f"Claimed {command.amount:g} {t.name if t else command.type}."

    text, error, status = await attempt(act, actor, form)
    done = None if error else str(form.get("type", "")).strip()
    report = credit_report(svc.state, svc.schedule, actor.id, svc.clock.now())
    html = svc.renderer.render(
        "includes/claims.html",
        course=svc.course,
        report=report,
        flash=text,
        flash_error=error,
        flash_type=str(form.get("type", "")),
        done=done,
    )
    return HTMLResponse(html, status_code=status)


def _director(request: Request) -> Response | None:
    actor = current_actor(request)
    if actor is None or actor.role is not Role.DIRECTOR:
        return Response("Only the course director sees the credit report.", 403)
    return None


async def director_credit(request: Request) -> Response:
    from server.reports.boards import credit_overview

    refused = _director(request)
    if refused:
        return refused
    svc = service_of(request)
    overview = credit_overview(svc.state, svc.schedule, svc.clock.now())
    return render_page(request, "pages/credit_report.html", o=overview)


async def director_file(request: Request) -> Response:
    from server.reports import boards, exports

    refused = _director(request)
    if refused:
        return refused
    svc = service_of(request)
    now = svc.clock.now()
    name = request.path_params["name"]
    slug = svc.course.id
    if name == "credits.csv":
        body = exports.export("credits", svc.state, svc.schedule, now, "csv")
        media = "text/csv"
    elif name in ("pars.txt", "cpe-monitor.csv"):
        report = Report.PARS if name == "pars.txt" else Report.CPE_MONITOR
        why = boards.unready_file(svc.schedule, report)
        if why:
            return Response(why, 409, media_type="text/plain")
        make = boards.pars_file if report is Report.PARS else boards.cpe_file
        body = make(svc.state, svc.schedule, now)
        media = "text/tab-separated-values" if report is Report.PARS else "text/csv"
    else:
        return Response("No such file.", 404)
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{slug}-{name}"',
            "cache-control": "no-store",
        },
    )


EXPORT_MEDIA = {
    "csv": ("csv", "text/csv; charset=utf-8"),
    "csv-excel": ("csv", "text/csv; charset=utf-8"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "json": ("json", "application/json"),
}


async def director_export(request: Request) -> Response:
    """A table of the course as a download: /director/export/{name}?format=csv (csv-excel,
    xlsx, json)."""
    from server.reports import exports

    refused = _director(request)
    if refused:
        return refused
    name = request.path_params["name"]
    fmt = request.query_params.get("format", "csv")
    if name not in exports.TABLES or fmt not in EXPORT_MEDIA:
        return Response(
            f"No such export: choose one of {', '.join(exports.TABLES)} as "
            f"{', '.join(EXPORT_MEDIA)}.",
            404,
            media_type="text/plain",
        )
    svc = service_of(request)
    body = exports.export(name, svc.state, svc.schedule, svc.clock.now(), fmt)
    ext, media = EXPORT_MEDIA[fmt]
    return Response(
        body,
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="{svc.course.id}-{name}.{ext}"',
            "cache-control": "no-store",
        },
    )


routes = [
    Route("/me", my_credit),
    Route("/me/claim", claim, methods=["POST"]),
    Route("/certificate", certificate),
    Route("/certificate/{type_id}", certificate),
    Route("/transcript", transcript),
    Route("/director/people/{person_id}/certificate", certificate),
    Route("/director/people/{person_id}/certificate/{type_id}", certificate),
    Route("/director/people/{person_id}/transcript", transcript),
    Route("/director/credit", director_credit),
    Route("/director/credit/{name}", director_file),
    Route("/director/export/{name}", director_export),
]
