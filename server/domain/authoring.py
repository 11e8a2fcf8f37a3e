"""Cases and instruments written in the browser.

The director names case authors; the director and the authors publish new versions of a case or
an instrument. The log keeps every version (its text, who, when, which fields changed): the
latest is what a new role-play starts with, and a running role-play keeps the version it began
with. The text is checked by the content layer (the same rules as `companion scenarios check`)
before a command is made; this module keeps who may publish and the order of versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.people import PeopleState
from server.domain.roles import Actor, Role

EVENT_TYPES = frozenset({"author.named", "author.unnamed", "content.published"})
KINDS = ("case", "instrument")
MAX_TEXT = 100_000  # characters of YAML in one version (the longest case file is about 14k)
MAX_CHANGED = 40


@dataclass(frozen=True)
class Version:
    number: int  # 1, 2, ... (0 is the file the course shipped with)
    text: str
    by: str
    at: datetime
    changed: tuple[str, ...]  # the top-level fields that differ from the version before


@dataclass(frozen=True)
class AuthoringState:
    authors: frozenset[str] = frozenset()
    versions: Mapping[tuple[str, str], tuple[Version, ...]] = field(default_factory=dict)
    count: int = 0  # versions published in all: a reader that parsed this many is up to date

    def of(self, kind: str, entry: str) -> tuple[Version, ...]:
        return self.versions.get((kind, entry), ())

    def number(self, kind: str, entry: str) -> int:
        """The latest version's number (0: none published, the file's is current)."""
        found = self.of(kind, entry)
        return found[-1].number if found else 0


@dataclass(frozen=True)
class NameAuthor:
    person: str
    named: bool = True  # False: no longer an author


@dataclass(frozen=True)
class Publish:
    kind: str  # "case" or "instrument"
    entry: str  # its id
    text: str  # the YAML, already checked
    changed: tuple[str, ...]  # the top-level fields that differ from `base`
    base: int  # the version the author started from


AuthoringCommand = NameAuthor | Publish


def may_author(state: AuthoringState, actor: Actor) -> bool:
    return actor.role is Role.DIRECTOR or actor.id in state.authors


def decide_authoring(
    state: AuthoringState,
    people: PeopleState,
    command: AuthoringCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    if isinstance(command, NameAuthor):
        if actor.role is not Role.DIRECTOR:
            raise PermissionDenied("Only the course director names case authors.")
        if command.person not in people.by_id:
            raise DomainError(f"No person {command.person!r} in this course.")
        if (command.person in state.authors) == command.named:
            return []
        kind = "author.named" if command.named else "author.unnamed"
        return [NewEvent(kind, actor.id, now, {"person": command.person})]
    if not may_author(state, actor):
        raise PermissionDenied("Only the director and the case authors they name may publish.")
    if command.kind not in KINDS:
        raise DomainError(f"Publish a case or an instrument, not {command.kind!r}.")
    if not command.text.strip():
        raise DomainError("There is nothing to publish.")
    if len(command.text) > MAX_TEXT:
        raise DomainError(f"Keep it under {MAX_TEXT:,} characters ({len(command.text):,} now).")
    current = state.number(command.kind, command.entry)
    if command.base != current:
        latest = state.of(command.kind, command.entry)[-1]
        raise DomainError(
            f"Version {current} was published since you opened version {command.base} "
            f"(by someone else at {latest.at:%H:%M} UTC). Open it again and make your change "
            "there; your text is still in the editor."
        )
    if not command.changed:
        raise DomainError(f"Nothing has changed since version {current}.")
    body = {
        "kind": command.kind,
        "id": command.entry,
        "version": current + 1,
        "text": command.text,
        "changed": list(command.changed[:MAX_CHANGED]),
    }
    return [NewEvent("content.published", actor.id, now, body)]


def apply_authoring(state: AuthoringState, e: Event) -> AuthoringState:
    d = e.data
    if e.type == "author.named":
        return replace(state, authors=state.authors | {str(d["person"])})
    if e.type == "author.unnamed":
        return replace(state, authors=state.authors - {str(d["person"])})
    if e.type == "content.published":
        key = (str(d["kind"]), str(d["id"]))
        v = Version(int(d["version"]), str(d["text"]), e.actor, e.at, tuple(map(str, d["changed"])))
        versions = {**state.versions, key: (*state.of(*key), v)}
        return replace(state, versions=versions, count=state.count + 1)
    return state
