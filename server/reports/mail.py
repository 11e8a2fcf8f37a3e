"""Mail through the course's SMTP server: each person's invitation (their personal link and
calendar) and the reminder before each day. Who is due and what was sent is the domain's
(server/domain/mail.py); this composes the messages, sends them, and records every send and every
refusal as an event, so a second run sends only what is still due.

Settings from the environment: COMPANION_SMTP_HOST (required to send), COMPANION_SMTP_PORT
(587), COMPANION_SMTP_USER and COMPANION_SMTP_PASSWORD (both or neither), COMPANION_SMTP_FROM
(the sender), COMPANION_SMTP_SECURITY: starttls (the default; refuses a server without it),
ssl (port 465) or none (a relay on this machine only); COMPANION_SMTP_CAFILE, a CA bundle to
trust instead of the system's (a relay with its own certificate authority).
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from server.access.links import Signer, calendar_link, person_link
from server.domain.mail import RecordMail, due
from server.domain.people import EMAIL, Person
from server.domain.roles import CLI_ACTOR, Actor
from server.reports.calendar import person_ics
from server.service.course import CourseService

SECURITY = ("starttls", "ssl", "none")


class MailSettingsError(ValueError):
    """The SMTP settings in the environment cannot be used; says which and why."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    security: str = "starttls"
    timeout: float = 20.0
    cafile: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if env is None else env
        host = env.get("COMPANION_SMTP_HOST", "").strip()
        if not host:
            raise MailSettingsError("COMPANION_SMTP_HOST is not set: which server sends the mail?")
        sender = env.get("COMPANION_SMTP_FROM", "").strip()
        if not EMAIL.match(sender.rpartition("<")[2].rstrip(">").strip().lower()):
            raise MailSettingsError(
                f"COMPANION_SMTP_FROM {sender!r} is not an email address (the sender people see)"
            )
        security = env.get("COMPANION_SMTP_SECURITY", "starttls").strip().lower()
        if security not in SECURITY:
            raise MailSettingsError(
                f"COMPANION_SMTP_SECURITY {security!r}: choose one of {', '.join(SECURITY)}"
            )
        raw_port = env.get("COMPANION_SMTP_PORT", "465" if security == "ssl" else "587")
        try:
            port = int(raw_port)
        except ValueError:
            raise MailSettingsError(f"COMPANION_SMTP_PORT {raw_port!r} is not a number") from None
        if not 0 < port < 65536:
            raise MailSettingsError(f"COMPANION_SMTP_PORT {port} is not a port")
        user = env.get("COMPANION_SMTP_USER") or None
        password = env.get("COMPANION_SMTP_PASSWORD") or None
        if (user is None) != (password is None):
            raise MailSettingsError(
                "COMPANION_SMTP_USER and COMPANION_SMTP_PASSWORD go together: give both or neither"
            )
        cafile = env.get("COMPANION_SMTP_CAFILE") or None
        if cafile is not None and not os.path.isfile(cafile):
            raise MailSettingsError(f"COMPANION_SMTP_CAFILE {cafile!r} is not a file")
        if security == "none" and user is not None:
            raise MailSettingsError(
                "COMPANION_SMTP_SECURITY none would send the password unencrypted; use starttls"
            )
        return cls(host, sender, port, user, password, security, cafile=cafile)


@dataclass(frozen=True)
class Outgoing:
    person: Person
    kind: str
    message: EmailMessage


@dataclass(frozen=True)
class Result:
    person: Person
    kind: str
    ok: bool
    detail: str  # the Message-ID, or what the server answered


def _day_line(service: CourseService, day: int) -> str:
    schedule = service.schedule
    items = schedule.day_items(day)
    start = schedule.local(items[0].start)
    end = schedule.local(items[-1].end)
    return (
        f"Day {day}, {start:%A, %B} {start.day}: {start:%H:%M}–{end:%H:%M} "
        f"{start:%Z} ({schedule.course.timezone})"
    )


def compose(
    service: CourseService, signer: Signer, base_url: str, sender: str, p: Person, kind: str
) -> EmailMessage:
    """The message `kind` for `p`: their link, their days, their calendar attached."""
    course = service.course
    link = person_link(signer, base_url, p)
    subscribe = calendar_link(signer, base_url, p)
    days = "\n".join(f"  {_day_line(service, d)}" for d in range(1, course.days + 1))
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((p.name, p.reg.email))
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "session-companion"
    msg["Message-ID"] = make_msgid(domain=domain)
    if kind == "invite":
        msg["Subject"] = f"Your link to {course.title}"
        intro = (
            f"Dear {p.name},\n\nThis is your personal link to {course.title} "
            f"({course.provider}). It opens your own page: keep it to yourself.\n\n  {link}\n"
        )
    else:
        day = int(kind.rsplit("-", 1)[1])
        msg["Subject"] = f"{course.title}: day {day} is coming"
        intro = (
            f"Dear {p.name},\n\nA reminder: {_day_line(service, day)}.\n\n"
            f"Your personal link (the same as before):\n\n  {link}\n"
        )
    body = (
        f"{intro}\nThe days:\n{days}\n\n"
        f"Your calendar is attached (course.ics). To have it follow every change, subscribe to:\n"
        f"  {subscribe}\n\nIf this was not meant for you, please tell the course team by "
        f"replying to this message.\n"
    )
    msg.set_content(body)
    data = person_ics(service.state, service.base, service.schedule, p.id, datetime.now(UTC))
    msg.add_attachment(
        data,
        maintype="text",
        subtype="calendar",
        filename="course.ics",
        params={"method": "PUBLISH"},
    )
    return msg


def send_all(settings: SmtpSettings, outgoing: Sequence[Outgoing]) -> list[Result]:
    """Send each message over one connection; a refused recipient is that message's result,
    a server that cannot be reached or refuses us fails them all, with its answer."""
    if not outgoing:
        return []
    context = ssl.create_default_context(cafile=settings.cafile)
    results = []
    try:
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        f"{settings.host} does not offer STARTTLS; set COMPANION_SMTP_SECURITY"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            for o in outgoing:
                try:
                    refused = smtp.send_message(o.message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as e:
                    results.append(Result(o.person, o.kind, False, _answer(e)))
                    continue
                if refused:
                    results.append(Result(o.person, o.kind, False, _answer(refused)))
                else:
                    results.append(Result(o.person, o.kind, True, str(o.message["Message-ID"])))
    except (OSError, smtplib.SMTPException) as e:
        done = {id(r.person) for r in results}
        results += [
            Result(o.person, o.kind, False, f"{settings.host}:{settings.port}: {_answer(e)}")
            for o in outgoing
            if id(o.person) not in done
        ]
    return results


def _answer(e: object) -> str:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        e = e.recipients
    if isinstance(e, dict):
        return "; ".join(
            f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for code, text in e.values()
        )
    if isinstance(e, smtplib.SMTPResponseException):
        text = (
            e.smtp_error.decode(errors="replace")
            if isinstance(e.smtp_error, bytes)
            else e.smtp_error
        )
        return f"{e.smtp_code} {text}"
    return str(e) or type(e).__name__


async def send(
    service: CourseService,
    signer: Signer,
    base_url: str,
    settings: SmtpSettings | None,
    kind: str,
    to: Sequence[str] = (),
    dry_run: bool = False,
    actor: Actor = CLI_ACTOR,
) -> list[Result]:
    """Send `kind` to everyone it is due to, or to the people `to` names (by id; a resend), and
    record each result. A dry run composes the messages and sends and records nothing."""
    people = service.state.people
    pids = list(to) if to else due(people, service.state.mail, kind)
    persons = [people.by_id[pid] for pid in pids]
    sender = settings.sender if settings else "course@example.org"
    outgoing = [
        Outgoing(p, kind, compose(service, signer, base_url, sender, p, kind)) for p in persons
    ]
    if dry_run:
        return [Result(o.person, o.kind, True, "(dry run: not sent)") for o in outgoing]
    if settings is None:
        raise MailSettingsError("COMPANION_SMTP_HOST is not set: which server sends the mail?")
    results = await asyncio.to_thread(send_all, settings, outgoing)
    for r in results:
        await service.execute(RecordMail(r.person.id, r.kind, r.ok, r.detail), actor)
    return results
