"""Signed join links and session cookies. No passwords: a link is the key, and can be revoked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeSerializer

if TYPE_CHECKING:
    from server.domain.people import Person

SESSION_COOKIE = "companion_session"


class BadLink(Exception):
    """A join link or session that was forged, mangled or revoked."""


class Signer:
    def __init__(self, secret: str) -> None:
        self._links = URLSafeSerializer(secret, salt="join-link")
        self._sessions = URLSafeSerializer(secret, salt="session")
        self._calendars = URLSafeSerializer(secret, salt="calendar")

    def link_token(self, person_id: str, version: int = 0) -> str:
        return self._links.dumps([person_id, version])

    def read_link(self, token: str) -> tuple[str, int]:
        return self._read(self._links, token)

    def session_value(self, person_id: str, version: int = 0) -> str:
        return self._sessions.dumps([person_id, version])

    def read_session(self, value: str) -> tuple[str, int]:
        return self._read(self._sessions, value)

    def calendar_token(self, person_id: str, version: int = 0) -> str:
        """A token that reads one person's calendar and nothing else (a calendar program keeps
        it in its subscription); a new link or a revocation ends it, as for the link."""
        return self._calendars.dumps([person_id, version])

    def read_calendar(self, token: str) -> tuple[str, int]:
        return self._read(self._calendars, token)

    @staticmethod
    def _read(s: URLSafeSerializer, token: str) -> tuple[str, int]:
        try:
            data = s.loads(token)
        except BadSignature:
            raise BadLink("This link is not valid: it may have been copied incompletely.") from None
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not isinstance(data[0], str)
            or not isinstance(data[1], int)
        ):
            raise BadLink("This link is not valid.")
        return data[0], data[1]


def calendar_link(signer: Signer, base_url: str, person: Person) -> str:
    """The address of `person`'s own calendar, to subscribe to."""
    token = signer.calendar_token(person.id, person.link_version)
    return f"{base_url.rstrip('/')}/calendar/{token}.ics"


def person_link(signer: Signer, base_url: str, person: Person) -> str:
    """The personal join link of `person` (its current version)."""
    return f"{base_url.rstrip('/')}/join/{signer.link_token(person.id, person.link_version)}"
