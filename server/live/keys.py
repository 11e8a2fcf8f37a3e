"""Audience keys: who shares the same bytes of a live partial. One key per audience, made here
and nowhere else; a key is a plain string (the hub looks thousands of them up at a boundary),
and a prefix names every audience of a kind (`touched_by` and `refresh` select by prefix)."""

from __future__ import annotations

AGENDA = "agenda"  # the agenda, now and next: everyone
DIRECTOR = "director"  # the director's people list
ROOMS = "rooms"  # every small group at a glance (the director's tiles)
NEWS = "news:"  # + "all", "director", "adult" or "pediatric": announcements shown there
PRESENCE = "presence:"  # + adult, pediatric or all: who of a track is online (staff)
PLACE = "place:"  # + a place's room key: where to be now, for everyone placed there
ROOM = "room:"  # + group: that group's room card (its staff)
RP = "rp:"  # + group + ":" + role: that role's view of the group's role-play
FB = "fb:"  # + group + ":" + person: that person's feedback panel in that group
TALLY = "tally:"  # + group: the facilitator's live feedback tallies
HELP = "help:"  # + track (+ ":" + facilitator): the help calls a track's staff answer
ME = "me:"  # + person: what concerns only them (their call for help: who is coming)
TALK = "talk:"  # + "group:NAME", "track:T" (its learners) or "person:ID" (staff): the chat,
#   hands and questions of the room those people are in now
INBOX = "inbox:"  # + person: their private lines to and from the room's staff
VISIT = "visit:"  # + person: a staff member's drop-in (where they are visiting, leave) and the
#   director's quick-breakout controls

# The audiences whose views change as time passes (the others change only with events): the
# only ones re-rendered at an agenda boundary or when a rehearsal clock moves. (Announcements
# expire; role-play panels show while the groups meet.)
TIMED = (AGENDA, PLACE, RP, NEWS, VISIT, TALK)


def news(where: str) -> str:
    return NEWS + where


def presence(track: str) -> str:
    return PRESENCE + track


def place(room: str) -> str:
    return PLACE + room


def room(group: str) -> str:
    return ROOM + group


def roleplay(group: str, role: str) -> str:
    return f"{RP}{group}:{role}"


def roleplay_of_group(group: str) -> str:
    """The prefix of every role's view of `group`'s role-play."""
    return f"{RP}{group}:"


def feedback(group: str, person: str) -> str:
    return f"{FB}{group}:{person}"


def feedback_of_group(group: str) -> str:
    """The prefix of every feedback panel in `group`."""
    return f"{FB}{group}:"


def tally(group: str) -> str:
    return TALLY + group


def help_calls(track: str, viewer: str | None = None) -> str:
    return f"{HELP}{track}:{viewer}" if viewer else HELP + track


def talk(target: str) -> str:
    return TALK + target


def inbox(person: str) -> str:
    return INBOX + person


def visit(person: str) -> str:
    return VISIT + person


def me(person: str) -> str:
    return ME + person


def split(key: str, prefix: str) -> tuple[str, str]:
    """The two parts after `prefix` of a key made of two (the last colon divides them: a
    group's name may hold colons, a role or a person id does not)."""
    first, _, second = key.removeprefix(prefix).rpartition(":")
    return first, second
