"""Talk beside the video: chat in the room a person is in now, a private line to that room's
staff, raised hands, and questions in the plenary that others upvote and the staff mark answered.

Where someone may speak is where the agenda places them (the transport passes the room of their
place; the rule here checks it), so a page cannot post into a room its person is not in. Text is
kept as typed (pages escape it; exports guard formulas), trimmed, at most `MAX_TEXT` characters,
and no one sends more than `BURST` messages within `WINDOW`: a flood is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from server.domain.errors import DomainError, PermissionDenied
from server.domain.events import Event, NewEvent
from server.domain.growing import Growing
from server.domain.roles import Actor, Role

EVENT_TYPES = frozenset(
    {
        "chat.sent",
        "hand.raised",
        "hand.lowered",
        "question.asked",
        "question.upvoted",
        "question.answered",
    }
)
MAX_TEXT = 1000
BURST = 8  # messages and questions one person may send within WINDOW
WINDOW = timedelta(seconds=30)
SHOWN = 40  # the latest messages a room shows
STAFF = frozenset({Role.DIRECTOR, Role.FACILITATOR})
QUESTION_ROOMS = ("plenary", "track:")  # questions are for the speaker of a plenary or session


@dataclass(frozen=True)
class Message:
    seq: int
    sid: str
    room: str
    author: str
    text: str
    at: datetime
    to: tuple[str, ...] = ()  # a private line: only the author and these people see it


@dataclass(frozen=True)
class Question:
    id: int  # the event's seq
    room: str
    author: str
    text: str
    at: datetime
    votes: frozenset[str] = frozenset()
    answered: bool = False


@dataclass(frozen=True)
class TalkState:
    # Every message by seq (the exports read them all); Growing, so replay stays linear.
    messages: Growing[int, Message] = field(default_factory=Growing)
    latest: Mapping[str, tuple[Message, ...]] = field(default_factory=dict)  # room -> public
    private: Mapping[str, tuple[Message, ...]] = field(default_factory=dict)  # person -> theirs
    hands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # room -> raised, in order
    questions: Growing[int, Question] = field(default_factory=Growing)
    sids: Growing[str, int] = field(default_factory=Growing)
    recent: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)  # author -> sends

    def in_room(self, room: str) -> tuple[Message, ...]:
        """The room's latest public messages, oldest first."""
        return self.latest.get(room, ())

    def private_for(self, viewer: str) -> tuple[Message, ...]:
        """The private lines `viewer` sent or was sent, oldest first."""
        return self.private.get(viewer, ())

    def questions_in(self, room: str) -> tuple[Question, ...]:
        """Open questions first, most upvoted first, then the answered ones."""
        found = [q for q in self.questions.values() if q.room == room]
        return tuple(sorted(found, key=lambda q: (q.answered, -len(q.votes), q.id)))


@dataclass(frozen=True)
class SendChat:
    sid: str
    room: str  # the room of the sender's place now (given by the transport)
    text: str
    private: bool = False  # to the room's staff only (its facilitator; the director in plenary)


@dataclass(frozen=True)
class RaiseHand:
    room: str
    up: bool | None = None  # None: raise it if it is down, lower it if it is up
    person: str | None = None  # staff lowering someone else's hand


@dataclass(frozen=True)
class AskQuestion:
    sid: str
    room: str
    text: str


@dataclass(frozen=True)
class Upvote:
    question: int


@dataclass(frozen=True)
class MarkAnswered:
    question: int


TalkCommand = SendChat | RaiseHand | AskQuestion | Upvote | MarkAnswered


def clean(text: str) -> str:
    """`text` trimmed, with control characters other than line breaks and tabs removed."""
    kept = "".join(c for c in text if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))
    return kept.strip()


def _check_text(raw: str, what: str) -> str:
    if len(raw) > MAX_TEXT * 4:
        raise DomainError(f"Keep {what} under {MAX_TEXT} characters ({len(raw):,} sent).")
    text = clean(raw)
    if not text:
        raise DomainError(f"Write {what} first.")
    if len(text) > MAX_TEXT:
        raise DomainError(f"Keep {what} under {MAX_TEXT} characters ({len(text):,} now).")
    return text


def _not_flooding(talk: TalkState, actor: Actor, now: datetime) -> None:
    recent = [t for t in talk.recent.get(actor.id, ()) if now - t < WINDOW]
    if len(recent) >= BURST:
        wait = int((WINDOW - (now - recent[0])).total_seconds()) + 1
        raise DomainError(f"You are sending very fast; wait {wait} seconds and send it again.")


def is_question_room(room: str) -> bool:
    return room == "plenary" or room.startswith("track:")


def decide_talk(
    talk: TalkState,
    here: str | None,
    staff: tuple[str, ...],
    command: TalkCommand,
    actor: Actor,
    now: datetime,
) -> list[NewEvent]:
    """`here` is the room of the actor's place now (None: no room, a break); `staff` the people
    a private line there reaches (`staff_of`)."""
    if isinstance(command, Upvote | MarkAnswered):
        if isinstance(command, MarkAnswered) and actor.role not in STAFF:
            raise PermissionDenied("The speaker (the director or a facilitator) marks it.")
        q = talk.questions.get(command.question)
        if q is None:
            raise DomainError(f"No question {command.question}.")
        if isinstance(command, MarkAnswered):
            if q.answered:
                return []
            return [NewEvent("question.answered", actor.id, now, {"question": q.id})]
        if here != q.room:
            raise DomainError("Upvote the questions of the room you are in.")
        if actor.id in q.votes or actor.id == q.author:
            return []
        return [NewEvent("question.upvoted", actor.id, now, {"question": q.id})]
    if here is None or command.room != here:
        raise DomainError("You can speak only in the room you are in now.")
    if isinstance(command, RaiseHand):
        who = command.person or actor.id
        if who != actor.id and actor.role not in STAFF:
            raise PermissionDenied("Only staff lower someone else's hand.")
        raised = who in talk.hands.get(here, ())
        up = (not raised) if command.up is None else command.up
        if up == raised:
            return []
        if up and who != actor.id:
            raise PermissionDenied("Raise your own hand.")
        kind = "hand.raised" if up else "hand.lowered"
        return [NewEvent(kind, actor.id, now, {"room": here, "person": who})]
    if command.sid in talk.sids:
        seq = talk.sids[command.sid]
        sent = talk.messages.get(seq) or talk.questions.get(seq)
        if sent is not None and sent.author != actor.id:
            raise DomainError("That submission id is already in use; reload the page.")
        return []  # a resend of what was stored
    if not 8 <= len(command.sid) <= 64:
        raise DomainError("The page's submission id is missing or malformed; reload the page.")
    _not_flooding(talk, actor, now)
    if isinstance(command, AskQuestion):
        if not is_question_room(here):
            raise DomainError("Questions are for the plenary and the track sessions.")
        text = _check_text(command.text, "the question")
        asked = {"sid": command.sid, "room": here, "text": text}
        return [NewEvent("question.asked", actor.id, now, asked)]
    text = _check_text(command.text, "the message")
    data: dict[str, object] = {"sid": command.sid, "room": here, "text": text}
    if command.private:
        to = [pid for pid in staff if pid != actor.id]
        if not to:
            raise DomainError("This room has no staff to write to privately; write to everyone.")
        data["to"] = to
    return [NewEvent("chat.sent", actor.id, now, data)]


def _sent(talk: TalkState, e: Event) -> TalkState:
    recent = (*[t for t in talk.recent.get(e.actor, ()) if e.at - t < WINDOW], e.at)
    sids = talk.sids.setting(str(e.data["sid"]), e.seq)
    return replace(talk, sids=sids, recent={**talk.recent, e.actor: recent})


def apply_talk(talk: TalkState, e: Event) -> TalkState:
    d = e.data
    if e.type == "chat.sent":
        m = Message(
            e.seq, str(d["sid"]), str(d["room"]), e.actor, str(d["text"]), e.at,
            tuple(map(str, d.get("to") or ())),
        )  # fmt: skip
        talk = replace(_sent(talk, e), messages=talk.messages.setting(m.seq, m))
        if not m.to:
            shown = (*talk.latest.get(m.room, ())[-(SHOWN - 1) :], m)
            return replace(talk, latest={**talk.latest, m.room: shown})
        private = dict(talk.private)
        for pid in {m.author, *m.to}:
            private[pid] = (*private.get(pid, ())[-(SHOWN - 1) :], m)
        return replace(talk, private=private)
    if e.type == "question.asked":
        q = Question(e.seq, str(d["room"]), e.actor, str(d["text"]), e.at)
        return replace(_sent(talk, e), questions=talk.questions.setting(q.id, q))
    if e.type in ("hand.raised", "hand.lowered"):
        room, who = str(d["room"]), str(d["person"])
        up = [p for p in talk.hands.get(room, ()) if p != who]
        if e.type == "hand.raised":
            up.append(who)
        return replace(talk, hands={**talk.hands, room: tuple(up)})
    if e.type in ("question.upvoted", "question.answered"):
        found = talk.questions.get(int(d["question"]))
        if found is None:  # its question was erased with its author
            return talk
        if e.type == "question.upvoted":
            found = replace(found, votes=found.votes | {e.actor})
        else:
            found = replace(found, answered=True)
        return replace(talk, questions=talk.questions.setting(found.id, found))
    return talk
