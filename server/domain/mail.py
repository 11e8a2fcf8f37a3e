"""Mail to people: who has been sent which message (their invitation with their link and
calendar, a reminder before a day), and which sends failed and why. Pure: the sending is the
service's; this records it and decides who is due.

The rule: an invitation is due to everyone not yet sent one for their current link (a new link
makes it due again; a revoked or erased person is never due); a reminder for day N is due once
to everyone invited. A resend is always allowed, to one person, by the director.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.errors import DomainError
from server.domain.events import Event, NewEvent
from server.domain.people import PeopleState
from server.domain.roles import Actor, Role, require

EVENT_TYPES = frozenset({"mail.sent", "mail.failed"})
KIND = re.compile(r"^(invite|reminder-day-[1-9][0-9]?)$")
MAX_DETAIL = 300


@dataclass(frozen=True)
class Sent:
    at: datetime
    link_version: int
    message_id: str


@dataclass(frozen=True)
class Failed:
    at: datetime
    error: str


@dataclass(frozen=True)
class MailState:
    sent: Mapping[tuple[str, str], Sent] = field(default_factory=dict)  # (person, kind) -> last
    failed: Mapping[tuple[str, str], Failed] = field(default_factory=dict)  # since the last send

    def sent_to(self, pid: str, kind: str) -> Sent | None:
        return self.sent.get((pid, kind))


@dataclass(frozen=True)
class RecordMail:
    """What happened when the service sent `kind` to `person`: sent (with the message id the
    server gave it) or failed (with the server's answer)."""

    person: str
    kind: str
    ok: bool
    detail: str = ""  # the message id, or the error


def due(people: PeopleState, mail: MailState, kind: str) -> list[str]:
    """Who `kind` is due to now, by name."""
    if not KIND.match(kind):
        raise DomainError(f"No such message {kind!r} (invite, reminder-day-N).")
    out = []
    for p in sorted(people.by_id.values(), key=lambda p: p.name):
        if p.erased or p.revoked:
            continue
        if kind == "invite":
            s = mail.sent_to(p.id, "invite")
            if s is None or s.link_version != p.link_version:
                out.append(p.id)
        elif mail.sent_to(p.id, "invite") and not mail.sent_to(p.id, kind):
            out.append(p.id)
    return out


def decide_mail(
    people: PeopleState, command: RecordMail, actor: Actor, now: datetime
) -> list[NewEvent]:
    require(actor, frozenset({Role.DIRECTOR}), "record mail")
    p = people.get(command.person)
    if p is None or p.erased:
        raise DomainError("No such person on this course.")
    if not KIND.match(command.kind):
        raise DomainError(f"No such message {command.kind!r} (invite, reminder-day-N).")
    detail = " ".join(command.detail.split())[:MAX_DETAIL]
    data: dict[str, object] = {"person": p.id, "kind": command.kind}
    if command.ok:
        data |= {"link_version": p.link_version, "message_id": detail}
        return [NewEvent("mail.sent", actor.id, now, data)]
    return [NewEvent("mail.failed", actor.id, now, data | {"error": detail or "refused"})]


def apply_mail(mail: MailState, e: Event) -> MailState:
    d = e.data
    key = (str(d["person"]), str(d["kind"]))
    if e.type == "mail.sent":
        sent = Sent(e.at, int(d.get("link_version", 0)), str(d.get("message_id", "")))
        failed = {k: v for k, v in mail.failed.items() if k != key}
        return replace(mail, sent={**mail.sent, key: sent}, failed=failed)
    if e.type == "mail.failed":
        return replace(mail, failed={**mail.failed, key: Failed(e.at, str(d.get("error", "")))})
    return mail
