"""Who is on the course and who is online, grouped for the staff pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.domain.mail import MailState
from server.domain.people import Claim, PeopleState, Person, Track
from server.domain.roles import Role

ROLE_ORDER = (Role.FACILITATOR, Role.SP, Role.LEARNER, Role.DIRECTOR)
ROLE_HEADINGS = {
    Role.FACILITATOR: "Facilitators",
    Role.SP: "Simulated-patient actors",
    Role.LEARNER: "Learners",
    Role.DIRECTOR: "Course directors",
}


@dataclass(frozen=True)
class Group:
    role: Role
    heading: str
    people: tuple[Person, ...]

    @property
    def online(self) -> int:
        return sum(1 for p in self.people if p.online)


@dataclass(frozen=True)
class PeopleView:
    track: str  # "adult", "pediatric" or "all"
    groups: tuple[Group, ...]
    evaluated: frozenset[str]
    claims: Mapping[str, Mapping[str, Claim]]  # person -> credit type -> claim
    erased: int = 0  # people whose data was erased (listed nowhere)
    mail: Mapping[str, str] = field(default_factory=dict)  # person -> their invitation's state

    @property
    def online(self) -> int:
        return sum(g.online for g in self.groups)

    @property
    def total(self) -> int:
        return sum(len(g.people) for g in self.groups)


def in_track(p: Person, track: str) -> bool:
    return track == "all" or p.reg.track in (Track(track), Track.BOTH)


def mail_status(people: PeopleState, mail: MailState) -> dict[str, str]:
    """Each person's invitation as the director reads it: sent for this link, sent for an old
    link, or failed with the mail server's answer."""
    out = {}
    for p in people.by_id.values():
        failed, sent = mail.failed.get((p.id, "invite")), mail.sent_to(p.id, "invite")
        if failed is not None:
            out[p.id] = f"invitation failed: {failed.error}"
        elif sent is not None:
            old = " (an older link)" if sent.link_version != p.link_version else ""
            out[p.id] = f"invited{old}"
    return out


def build_people_view(
    people: PeopleState, track: str = "all", mail: MailState | None = None
) -> PeopleView:
    groups = []
    for role in ROLE_ORDER:
        members = tuple(p for p in people.of_role(role) if in_track(p, track))
        if members:
            groups.append(Group(role, ROLE_HEADINGS[role], members))
    erased = sum(1 for p in people.by_id.values() if p.erased and in_track(p, track))
    status = mail_status(people, mail) if mail is not None else {}
    return PeopleView(track, tuple(groups), people.evaluated, dict(people.claims), erased, status)
