"""What each role sees of a group's role-play. Built per audience; SP-only content is only ever
placed in the SP's and the facilitator's views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain.agenda import Kind, Schedule
from server.domain.course_state import CourseState
from server.domain.people import Person
from server.domain.roleplay import Phase, Roleplay, Turn, suggest_next
from server.domain.rooms import GroupInfo, sp_window, sps_with
from server.live.rooms_view import slug
from server.scenarios import Beat, CueLevel, Scenario

INTENSITY_NAMES = {1: "low", 2: "medium", 3: "high"}
PHASE_LABELS = {
    Phase.IDLE: "No role-play yet",
    Phase.BRIEFING: "Briefing",
    Phase.RUNNING: "Scene running",
    Phase.TIMEOUT: "Time-out",
    Phase.DEBRIEF: "Debrief",
    Phase.DONE: "Case finished",
}


@dataclass(frozen=True)
class TurnRow:
    turn: Turn
    learner: Person | None
    seconds: float


@dataclass(frozen=True)
class LearnerOrder:
    person: Person
    turns: int
    seconds: float
    online: bool


@dataclass(frozen=True)
class SpSlot:
    start: datetime
    end: datetime
    number: int  # 1-based
    of: int
    here: bool
    tz: ZoneInfo


@dataclass(frozen=True)
class RoleplayView:
    group: str
    dom: str  # a stable id fragment for the group
    rp: Roleplay
    scenario: Scenario | None
    hot_seat: Person | None
    suggestion: Person | None
    members: tuple[Person, ...]
    beat: Beat | None
    beat_number: int
    intensity_name: str
    cue_level: CueLevel | None
    turns: tuple[TurnRow, ...]
    order: tuple[LearnerOrder, ...]
    library: tuple[Scenario, ...]  # cases of this group's track (for the facilitator)
    elapsed_since: datetime | None  # the running turn's clock, as a start instant
    elapsed_seconds: float
    recording_on: bool = False
    consent: tuple[tuple[Person, bool], ...] = ()  # everyone in the group: consented?
    recordings: int = 0  # saved segments of this group
    # In a practice block shared by the SP timetable: this group's slot, and whether its actor
    # is with it now (None: no timetable now, the actor is with the group for the whole item).
    sp_slot: SpSlot | None = None

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.rp.phase]

    @property
    def target_seconds(self) -> int:
        return self.rp.minutes * 60


def sp_slot_of(
    state: CourseState, schedule: Schedule, g: GroupInfo, now: datetime
) -> SpSlot | None:
    item = schedule.current(now)
    if item is None or item.item.kind is not Kind.PRACTICE or g.sp_slots <= 1:
        return None
    start, end = sp_window(item, g)
    here = bool(sps_with(state.rooms, g, item, now))
    return SpSlot(start, end, g.sp_slot + 1, g.sp_slots, here, schedule.tz)


def build_roleplay_view(
    state: CourseState,
    library: dict[str, Scenario],
    group: str,
    now: datetime,
    schedule: Schedule | None = None,
) -> RoleplayView | None:
    g = state.rooms.groups.get(group)
    if g is None:
        return None
    people = state.people
    rp = state.roleplays.of(group)
    scenario = library.get(rp.scenario) if rp.scenario else None
    members = tuple(people.by_id[m] for m in g.members if m in people.by_id)
    beat = None
    number = 0
    if scenario and rp.beat:
        for i, b in enumerate(scenario.beats, start=1):
            if b.id == rp.beat:
                beat, number = b, i
    cue_level = None
    if scenario:
        ladder = scenario.portrayal.cue_ladder
        cue_level = {1: ladder.low, 2: ladder.medium, 3: ladder.high}[rp.intensity]
    suggestion_id = suggest_next(rp, list(g.members))
    t = rp.turn
    used = t.seconds_used(now) if t else 0.0
    since = now - timedelta(seconds=used) if t and t.running_since else None
    per: dict[str, float] = {}
    for turn in rp.turns:
        per[turn.learner] = per.get(turn.learner, 0.0) + turn.seconds_used(now)
    return RoleplayView(
        group=group,
        dom=slug(group),
        rp=rp,
        scenario=scenario,
        hot_seat=people.get(rp.hot_seat) if rp.hot_seat else None,
        suggestion=people.get(suggestion_id) if suggestion_id else None,
        members=members,
        beat=beat,
        beat_number=number,
        intensity_name=INTENSITY_NAMES[rp.intensity],
        cue_level=cue_level,
        turns=tuple(TurnRow(x, people.get(x.learner), x.seconds_used(now)) for x in rp.turns),
        order=tuple(
            LearnerOrder(p, rp.turns_of(p.id), per.get(p.id, 0.0), p.online) for p in members
        ),
        library=tuple(
            sorted((s for s in library.values() if s.track == g.track), key=lambda s: s.title)
        ),
        elapsed_since=since,
        elapsed_seconds=used,
        recording_on=group in state.media.recording_on,
        consent=tuple(
            (people.by_id[pid], pid in state.media.consent.get(group, frozenset()))
            for pid in (*g.sps, *g.members, *([g.facilitator] if g.facilitator else []))
            if pid in people.by_id
        ),
        recordings=sum(1 for rec in state.media.recordings.values() if rec.group == group),
        sp_slot=sp_slot_of(state, schedule, g, now) if schedule else None,
    )
