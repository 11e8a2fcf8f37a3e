"""Who is behind a request or a socket: the session cookie checked against the live roster.

A link or session names a person and a link version; it works only while that person exists, is
not revoked, and the version is the current one (reissuing a link retires the old one).
"""

from __future__ import annotations

from collections.abc import Iterable

from server.access.links import SESSION_COOKIE, BadLink, Signer
from server.domain.people import PeopleState, Person
from server.domain.roles import Actor


def person_for(people: PeopleState, person_id: str, version: int) -> Person:
    """The person a valid link or session names. Raises BadLink otherwise, with the reason."""
    p = people.get(person_id)
    if p is None:
        raise BadLink("This link is not for anyone on this course.")
    if p.revoked:
        raise BadLink("This personal link has been revoked. Ask the course director for another.")
    if version != p.link_version:
        raise BadLink(
            "This link has been replaced by a newer one. Use the latest link you were sent."
        )
    return p


def session_actor(people: PeopleState, signer: Signer, cookie: str | None) -> Actor | None:
    """The actor behind a session cookie, or None for no, forged, revoked or stale sessions."""
    if not cookie:
        return None
    try:
        pid, version = signer.read_session(cookie)
        p = person_for(people, pid, version)
    except BadLink:
        return None
    return Actor(p.id, p.role)


class AmbiguousSession(Exception):
    """A request carried more than one session cookie: which one speaks for it is unclear, so
    none does (an attacker can add cookies beside a real one)."""


def session_cookie(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The one session cookie of a request's (or a socket's) headers, or None; raises
    AmbiguousSession when there are several, in one Cookie header or in many."""
    found: list[str] = []
    for name, value in headers:
        if name.lower() != b"cookie":
            continue
        for chunk in bytes(value).decode("latin-1").split(";"):
            key, sep, val = chunk.partition("=")
            if sep and key.strip() == SESSION_COOKIE:
                found.append(val.strip())
    if len(found) > 1:
        raise AmbiguousSession("More than one session cookie was sent.")
    return found[0] if found else None


def verified_person(signer: Signer, cookie: str | None) -> str | None:
    """The person id a session cookie was signed for (whatever its version), or None."""
    if not cookie:
        return None
    try:
        return signer.read_session(cookie)[0]
    except BadLink:
        return None
