"""Who is acting, and which roles may issue which commands: the one place for that rule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import PermissionDenied


class Role(StrEnum):
    LEARNER = "learner"
    FACILITATOR = "facilitator"
    SP = "sp"
    DIRECTOR = "director"


ROLE_LABELS = {
    Role.LEARNER: "learner",
    Role.FACILITATOR: "facilitator",
    Role.SP: "simulated-patient actor",
    Role.DIRECTOR: "course director",
}


@dataclass(frozen=True)
class Actor:
    """The person behind a command. The command line acts as a course director named `cli`."""

    id: str
    role: Role


CLI_ACTOR = Actor(id="cli", role=Role.DIRECTOR)
# The media server records segments and expires old recordings under this name.
MEDIA_ACTOR = Actor(id="media", role=Role.DIRECTOR)
# The agenda itself, closing what its items have ended (domain/lifecycle.py).
AGENDA_ACTOR = Actor(id="agenda", role=Role.DIRECTOR)


def require(actor: Actor, allowed: frozenset[Role], what: str) -> None:
    """Raises PermissionDenied unless the actor's role is one of `allowed`."""
    if actor.role not in allowed:
        names = ", ".join(sorted(ROLE_LABELS[r] for r in allowed))
        raise PermissionDenied(f"Only a {names} may {what}; you are a {ROLE_LABELS[actor.role]}.")
