"""What each person sees of turn feedback: their own form and feedback received (one panel per
person per group), the facilitator's live tallies, and per-item summaries for charts.

Feedback on a turn reaches its learner only once the facilitator has released it; until then the
learner's panel shows how many forms are in, never what they say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.content.cases import Scenario
from server.content.instruments import Instrument, Item, ItemKind, form_for, parts_of
from server.content.shelf import case_at
from server.domain.course_state import CourseState
from server.domain.feedback import SELF, SELF_RATING
from server.domain.roleplay import Turn
from server.domain.roles import Role
from server.domain.submissions import OBSERVED_CHOICES, Feedback, NextTime
from server.live.names import slug
from server.live.views.roleplay import BeatTitle, Who

# A learner is in one group at a time, so their panels have element ids that do not name the
# group: moved to another group, the new group's panels land in the same places.
LEARNER_FB = "fb-mine"

CAPACITY_LABELS = {"peer": "peer", "facilitator": "facilitator", "sp": "SP", SELF: "self"}
OBSERVED_LABELS = {
    "observed": "observed",
    "partly": "partly",
    "not_observed": "not observed",
    "not_applicable": "n/a",
}


def turn_instrument(
    turn: Turn | None,
    library: Mapping[str, Scenario],
    instruments: Mapping[str, Instrument],
    person: str | None = None,
) -> Instrument:
    """The form for a turn: the case's instruments and the global rating for the observers; the
    global rating alone for the learner whose turn it is (`person`), who rates themselves."""
    if turn is not None and person is not None and person == turn.learner:
        return instruments[SELF_RATING]
    return form_for(case_at(library, turn.scenario, turn.version) if turn else None, instruments)


@dataclass(frozen=True)
class ItemSummary:
    item: Item
    counts: dict[str, int]  # observed: choice -> n; scale: "1".."5" -> n
    mean: float | None  # scale items
    n: int
    texts: tuple[tuple[str, str, str], ...]  # (text, who, moment) for text and quote items


def summarise(
    instrument: Instrument,
    feedback: Iterable[Feedback],
    names: dict[str, str] | None = None,
    beats: dict[str, str] | None = None,
) -> tuple[ItemSummary, ...]:
    """Per-item tallies over `feedback` (which may span turns, groups or the course) sent on a
    form that shares an instrument with `instrument`."""
    ours = parts_of(instrument.id)
    fb = [f for f in feedback if parts_of(f.instrument) & ours]
    out = []
    for item in instrument.items:
        values = [f.answers[item.id] for f in fb if item.id in f.answers]
        kind = item.kind.value
        counts: dict[str, int] = {}
        mean = None
        texts: tuple[tuple[str, str, str], ...] = ()
        if kind == "observed":
            counts = {c: values.count(c) for c in OBSERVED_CHOICES}
        elif kind == "scale":
            counts = {str(v): values.count(str(v)) for v in range(1, 6)}
            mean = sum(int(v) for v in values) / len(values) if values else None
        else:
            texts = tuple(
                (
                    f.answers[item.id],
                    _who(f, names or {}),
                    (beats or {}).get(f.moments.get(item.id, ""), ""),
                )
                for f in fb
                if item.id in f.answers
            )
        out.append(ItemSummary(item, counts, mean, len(values), texts))
    return tuple(out)


def _who(f: Feedback, names: dict[str, str]) -> str:
    name = names.get(f.author)
    return f"{name} ({CAPACITY_LABELS.get(f.capacity, f.capacity)})" if name else ""


@dataclass(frozen=True)
class GapRow:
    """One item of the global rating: the learner's rating of themselves against the others'."""

    item: Item
    mine: int | None
    others: float | None  # the others' mean
    n: int  # how many others rated it

    @property
    def gap(self) -> float | None:
        """Self minus others: above zero the learner rated themselves higher than others did."""
        return None if self.mine is None or self.others is None else self.mine - self.others


def gap_rows(
    form: Instrument, own: Feedback | None, others: Iterable[Feedback]
) -> tuple[GapRow, ...]:
    rated = [f for f in others if SELF_RATING in parts_of(f.instrument)]
    rows = []
    for item in form.items:
        if item.kind is not ItemKind.SCALE:
            continue
        values = [int(f.answers[item.id]) for f in rated if item.id in f.answers]
        mine = own.answers.get(item.id) if own else None
        mean = sum(values) / len(values) if values else None
        rows.append(GapRow(item, int(mine) if mine else None, mean, len(values)))
    return tuple(rows)


@dataclass(frozen=True)
class TurnFeedback:
    """One turn, as its learner or the facilitator sees it."""

    number: int
    turn: Turn
    learner: Who | None
    case_title: str | None  # the case's title only: a learner's panel holds nothing of its script
    instrument: Instrument
    received: int
    released: bool
    summary: tuple[ItemSummary, ...]
    next_time: NextTime | None
    authors: tuple[tuple[str, str], ...]  # (name, capacity) of those who sent feedback
    self_form: Instrument  # the global rating, on which the learner rates themselves
    self_rating: Feedback | None
    gap: tuple[GapRow, ...]  # self against others, item by item


@dataclass(frozen=True)
class FormTarget:
    """The turn a person can give feedback on now, and what they sent for it so far."""

    number: int
    turn: Turn
    learner: Who | None
    instrument: Instrument
    beats: tuple[BeatTitle, ...]  # for "said during": titles, never the actor's prompts
    current_beat: str | None
    mine: Feedback | None


@dataclass(frozen=True)
class FeedbackPanel:
    group: str
    dom: str
    person: str
    target: FormTarget | None
    my_turns: tuple[TurnFeedback, ...]  # a learner's own turns in this group
    slot: str  # the panel's element id on the page (a learner's one group: `LEARNER_FB`)
    shown: bool  # a case is open and there is a turn to give feedback on, or one of theirs


def _beats(scenario: Scenario | None) -> dict[str, str]:
    return {b.id: b.title for b in scenario.beats} if scenario else {}


def turn_feedback(
    state: CourseState,
    library: Mapping[str, Scenario],
    instruments: Mapping[str, Instrument],
    group: str,
    number: int,
    turn: Turn,
    names: bool,
) -> TurnFeedback:
    scenario = case_at(library, turn.scenario, turn.version)
    inst = turn_instrument(turn, library, instruments)
    given = state.feedback.on_turn(group, number)
    fb = [f for f in given if f.capacity != SELF]
    own = next((f for f in given if f.capacity == SELF), None)
    people = state.people
    who = {f.author: people.by_id[f.author].name for f in fb if f.author in people.by_id}
    return TurnFeedback(
        number=number,
        turn=turn,
        learner=Who.of(people.get(turn.learner)),
        case_title=scenario.title if scenario else None,
        instrument=inst,
        received=len(fb),
        released=(group, number) in state.feedback.released,
        summary=summarise(inst, fb, who if names else {}, _beats(scenario)),
        next_time=state.feedback.next_time.get((group, number)),
        authors=tuple(
            (who.get(f.author, "?"), CAPACITY_LABELS.get(f.capacity, f.capacity)) for f in fb
        ),
        self_form=instruments[SELF_RATING],
        self_rating=own,
        gap=gap_rows(instruments[SELF_RATING], own, fb),
    )


def build_feedback_panel(
    state: CourseState,
    library: Mapping[str, Scenario],
    instruments: Mapping[str, Instrument],
    group: str,
    person: str,
) -> FeedbackPanel | None:
    g = state.rooms.groups.get(group)
    if g is None or not instruments:
        return None
    rp = state.roleplays.of(group)
    target = None
    if rp.turns and rp.turns[-1].learner != person:
        number = len(rp.turns)
        turn = rp.turns[-1]
        scenario = case_at(library, turn.scenario, turn.version)
        target = FormTarget(
            number=number,
            turn=turn,
            learner=Who.of(state.people.get(turn.learner)),
            instrument=form_for(scenario, instruments),
            beats=tuple(BeatTitle(b.id, b.title) for b in scenario.beats) if scenario else (),
            current_beat=rp.beat if rp.turn is not None else None,
            mine=state.feedback.turns.get((group, number), {}).get(person),
        )
    mine = tuple(
        turn_feedback(state, library, instruments, group, n, t, names=True)
        for n, t in enumerate(rp.turns, start=1)
        if t.learner == person
    )
    p = state.people.get(person)
    slot = LEARNER_FB if p is not None and p.role is Role.LEARNER else f"fb-{slug(group)}"
    shown = rp.open and (target is not None or bool(mine))
    return FeedbackPanel(group, slug(group), person, target, tuple(reversed(mine)), slot, shown)


@dataclass(frozen=True)
class TallyView:
    group: str
    dom: str
    expected: int  # how many could send feedback on a turn (everyone but its learner)
    turns: tuple[TurnFeedback, ...]  # latest first
    shown: bool = True  # while a case is open


def build_tally(
    state: CourseState,
    library: Mapping[str, Scenario],
    instruments: Mapping[str, Instrument],
    group: str,
) -> TallyView | None:
    g = state.rooms.groups.get(group)
    if g is None or not instruments:
        return None
    rp = state.roleplays.of(group)
    turns = tuple(
        turn_feedback(state, library, instruments, group, n, t, names=True)
        for n, t in enumerate(rp.turns, start=1)
    )
    expected = len(g.members) - 1 + len(g.sps) + (1 if g.facilitator else 0)
    return TallyView(group, slug(group), max(expected, 0), tuple(reversed(turns)), rp.open)


@dataclass(frozen=True)
class ResultsBlock:
    title: str
    instrument: Instrument
    forms: int
    summary: tuple[ItemSummary, ...]


def course_results(
    state: CourseState, instruments: Mapping[str, Instrument], group: str | None = None
) -> tuple[ResultsBlock, ...]:
    """Per-item results for each instrument used, across the course or one group (no names)."""
    all_fb: list[Feedback] = [
        f
        for per in state.feedback.turns.values()
        for f in per.values()
        if group is None or f.group == group
    ]
    blocks = []
    for inst in sorted(instruments.values(), key=lambda i: i.title):
        used = [f for f in all_fb if inst.id in parts_of(f.instrument) and f.capacity != SELF]
        if used:
            blocks.append(ResultsBlock(inst.title, inst, len(used), summarise(inst, used)))
    return tuple(blocks)


def learner_portfolio(
    state: CourseState,
    library: Mapping[str, Scenario],
    instruments: Mapping[str, Instrument],
    person: str,
) -> tuple[tuple[str, tuple[TurnFeedback, ...]], ...]:
    """Every released turn of `person`, by group, with the feedback received."""
    out = []
    for group, rp in sorted(state.roleplays.by_group.items()):
        turns = tuple(
            turn_feedback(state, library, instruments, group, n, t, names=True)
            for n, t in enumerate(rp.turns, start=1)
            if t.learner == person and (group, n) in state.feedback.released
        )
        if turns:
            out.append((group, turns))
    return tuple(out)
