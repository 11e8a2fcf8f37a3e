"""Who is behind a request or a socket: the session cookie checked against the live roster.

A link or session names a person and a link version; it works only while that person exists, is
not revoked, and the version is the current one (reissuing a link retires the old one).
"""

from __future__ import annotations

from server.auth import BadLink, Signer
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
