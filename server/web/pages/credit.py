"""A learner's attendance and credit, the claim, and the certificate."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.credit import ClaimCredit
from server.domain.roles import Actor, Role
from server.reports.credit import credit_report
from server.web.pages.common import (
    message_page,
    render_page,
    requires,
    run_command,
    service_of,
)


@requires()
async def my_credit(request: Request, actor: Actor) -> Response:
    svc = service_of(request)
    report = credit_report(svc.state, svc.schedule, actor.id, svc.clock.now())
    return render_page(request, "pages/me.html", report=report)


@requires()
async def certificate(request: Request, actor: Actor) -> Response:
    pid = request.path_params.get("person_id", actor.id)
    if pid != actor.id and actor.role is not Role.DIRECTOR:
        return message_page(request, "Not yours", "You can only see your own certificate.", 403)
    svc = service_of(request)
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
    return render_page(request, "pages/certificate.html", report=report)


def _credits(form: FormData) -> ClaimCredit:
    raw = str(form.get("credits", "")).strip()
    try:
        return ClaimCredit(float(raw))
    except ValueError:
        raise ValueError(f"Credits must be a number like 12.25, not {raw!r}.") from None


async def claim(request: Request) -> Response:
    return await run_command(
        request,
        _credits,
        lambda c: f"Claimed {c.credits:.2f} credits.",  # type: ignore[union-attr]
        link=("/certificate", "Open your certificate"),
    )


routes = [
    Route("/me", my_credit),
    Route("/me/claim", claim, methods=["POST"]),
    Route("/certificate", certificate),
    Route("/director/people/{person_id}/certificate", certificate),
]
