"""What each role sees of a group's role-play: one view type and one builder per role. The
information barrier is drawn here, by what each type holds: a learner's view has no field for the
SP's script or the facilitator's cues, so no template can put them on a learner's page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.content.cases import Beat, CueLevel, DoorNote, Scenario
from server.content.shelf import case_at
from server.domain.agenda import Kind, Schedule
from server.domain.course_state import CourseState
from server.domain.people import Person
from server.domain.placement import Portrayals, in_group_time, portrayals, sp_window, sps_with
from server.domain.roleplay import Cue, Phase, Roleplay, Turn, suggest_next
from server.domain.rooms import GroupInfo
from server.live.names import slug

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
class Who:
    """Someone in the room as the room may see them: a name, never their registration (email,
    board ids, birth date)."""

    id: str
    name: str
    online: bool

    @classmethod
    def of(cls, p: Person | None) -> Who | None:
        return cls(p.id, p.name, p.online) if p else None


@dataclass(frozen=True)
class TurnRow:
    turn: Turn
    learner: Who | None
    seconds: float


@dataclass(frozen=True)
class LearnerOrder:
    person: Who
    turns: int
    seconds: float
    online: bool
    # While their turn runs: the instant their time used would have started from, had it all
    # run at once (the page counts on from it, so every render of a running turn is the same).
    counting_since: datetime | None = None


@dataclass(frozen=True)
class SpSlot:
    start: datetime
    end: datetime
    number: int  # 1-based
    of: int
    here: bool
    tz: ZoneInfo


@dataclass(frozen=True)
class BeatTitle:
    """A beat as everyone in the room may name it: its title, never the actor's prompts."""

    id: str
    title: str


@dataclass(frozen=True)
class CaseBrief:
    """What a learner may read of a case: its title, door note, the beats by title and the
    goals learners often choose. No field here holds the SP's portrayal, the hidden facts, the
    cue ladder, the actor's prompts or the facilitator's cues: they cannot reach a learner's
    page because the learner's view is never given them."""

    id: str
    title: str
    door_note: DoorNote
    beats: tuple[BeatTitle, ...]
    goal_suggestions: tuple[str, ...]

    @classmethod
    def of(cls, s: Scenario) -> CaseBrief:
        return cls(
            s.id,
            s.title,
            s.door_note,
            tuple(BeatTitle(b.id, b.title) for b in s.beats),
            tuple(s.goal_suggestions),
        )


@dataclass(frozen=True)
class Scene:
    """Where a group's role-play is, as everyone in its room may know: the phase, the running
    turn's goal and clock, the beat by title. Never its cues or its script."""

    phase: Phase
    has_turn: bool
    goal: str | None
    tag_in: bool
    minutes: int  # the door note's time for a turn
    elapsed_since: datetime | None  # the running turn's clock, as a start instant
    elapsed_seconds: float
    beat: BeatTitle | None
    beat_number: int

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.phase]


@dataclass(frozen=True)
class Room:
    """What every role's view of a group's role-play shares: who, the recording, the SP slot."""

    group: str
    dom: str  # a stable id fragment for the group
    hot_seat: Who | None
    suggestion: Who | None
    recording_on: bool
    consent: tuple[tuple[Who, bool], ...]  # everyone in the group: consented?
    recordings: int  # saved segments of this group
    # In a practice block shared by the SP timetable: this group's slot, and whether its actor
    # is with it now (None: no timetable now, the actor is with the group for the whole item).
    sp_slot: SpSlot | None
    # Whether the panel is on the page: while the groups meet, and while a case is open (a
    # parked scene stays until the agenda closes it, domain/lifecycle.py).
    shown: bool = True


LEARNER_RP = "rp-mine"  # a learner's role-play panel, whichever group they are in


@dataclass(frozen=True)
class LearnerRoleplayView:
    """A learner's view: the scene and the case's brief; nothing of the SP's script."""

    room: Room
    scene: Scene
    case: CaseBrief | None
    slot: str = LEARNER_RP


@dataclass(frozen=True)
class SpRoleplayView:
    """The SP actor's teleprompter: the whole case, the facilitator's cues, the current beat's
    prompts and the lines for the current intensity."""

    room: Room
    scene: Scene
    case: Scenario | None
    beat: Beat | None
    cues: tuple[Cue, ...]
    intensity_name: str
    cue_level: CueLevel | None
    portrayals: tuple[tuple[str, Portrayals], ...] = ()  # (name, count) of the actors here now
    tz: ZoneInfo | None = None  # the course's zone, for the times shown


@dataclass(frozen=True)
class FacilitatorRoleplayView:
    """The facilitator's controls: everything, the turn order and the cases of the track."""

    room: Room
    scene: Scene
    rp: Roleplay
    case: Scenario | None
    beat: Beat | None
    intensity_name: str
    cue_level: CueLevel | None
    turns: tuple[TurnRow, ...]
    order: tuple[LearnerOrder, ...]
    library: tuple[Scenario, ...]  # cases of this group's track
    portrayals: tuple[tuple[str, Portrayals], ...] = ()  # (name, count) of the actors here now
    tz: ZoneInfo | None = None  # the course's zone, for the times shown


RoleplayView = LearnerRoleplayView | SpRoleplayView | FacilitatorRoleplayView


def sp_slot_of(
    state: CourseState, schedule: Schedule, g: GroupInfo, now: datetime
) -> SpSlot | None:
    item = schedule.current(now)
    if item is None or item.item.kind is not Kind.PRACTICE or g.sp_slots <= 1:
        return None
    start, end = sp_window(item, g)
    here = bool(sps_with(state.rooms, g, item, now))
    return SpSlot(start, end, g.sp_slot + 1, g.sp_slots, here, schedule.tz)


def portrayals_of(
    state: CourseState,
    g: GroupInfo,
    scenario: Scenario | None,
    now: datetime,
    schedule: Schedule | None,
) -> tuple[tuple[str, Portrayals], ...]:
    """How often each SP actor with the group now has portrayed its case today, against the
    case's limits (ASPE: emotionally demanding roles are not repeated without limit)."""
    if scenario is None or schedule is None:
        return ()
    limit = scenario.intensity
    out = []
    for sp in sps_with(state.rooms, g, schedule.current(now), now):
        count = portrayals(
            state.rooms,
            state.roleplays,
            schedule,
            sp,
            scenario.id,
            now,
            limit.max_per_day,
            limit.rest_minutes,
        )
        person = state.people.get(sp)
        out.append((person.name if person else sp, count))
    return tuple(out)


def build_roleplay_view(
    state: CourseState,
    library: Mapping[str, Scenario],
    group: str,
    role: str,
    now: datetime,
    schedule: Schedule | None = None,
) -> RoleplayView | None:
    """`role`'s view of `group`'s role-play ("learner", "sp" or "facilitator"), or None. The one
    place the information barrier is drawn: each role's view type holds only what it may see."""
    g = state.rooms.groups.get(group)
    builder = BUILDERS.get(role)
    if g is None or builder is None:
        return None
    rp = state.roleplays.of(group)
    scenario = case_at(library, rp.scenario, rp.version)
    return builder(state, library, g, rp, scenario, now, schedule)


def _room(
    state: CourseState, g: GroupInfo, rp: Roleplay, now: datetime, schedule: Schedule | None
) -> Room:
    people = state.people
    suggestion = suggest_next(rp, list(g.members))
    return Room(
        group=g.name,
        dom=slug(g.name),
        hot_seat=Who.of(people.get(rp.hot_seat)) if rp.hot_seat else None,
        suggestion=Who.of(people.get(suggestion)) if suggestion else None,
        recording_on=g.name in state.media.recording_on,
        consent=tuple(
            (
                Who(pid, people.by_id[pid].name, people.by_id[pid].online),
                pid in state.media.consent.get(g.name, frozenset()),
            )
            for pid in (*g.sps, *g.members, *([g.facilitator] if g.facilitator else []))
            if pid in people.by_id
        ),
        recordings=sum(1 for rec in state.media.recordings.values() if rec.group == g.name),
        sp_slot=sp_slot_of(state, schedule, g, now) if schedule else None,
        shown=rp.open or (schedule is not None and in_group_time(schedule, now, state.rooms)),
    )


def _beat(rp: Roleplay, scenario: Scenario | None) -> tuple[Beat | None, int]:
    if scenario and rp.beat:
        for i, b in enumerate(scenario.beats, start=1):
            if b.id == rp.beat:
                return b, i
    return None, 0


def _scene(rp: Roleplay, scenario: Scenario | None, now: datetime) -> Scene:
    t = rp.turn
    used = t.seconds_used(now) if t else 0.0
    beat, number = _beat(rp, scenario)
    return Scene(
        phase=rp.phase,
        has_turn=t is not None,
        goal=t.goal if t else None,
        tag_in=t.tag_in if t else False,
        minutes=rp.minutes,
        # Counted from when it last ran, less what it had used by then: the same on every render.
        elapsed_since=(
            t.running_since - timedelta(seconds=t.elapsed) if t and t.running_since else None
        ),
        elapsed_seconds=used,
        beat=BeatTitle(beat.id, beat.title) if beat else None,
        beat_number=number,
    )


def _cue_level(rp: Roleplay, scenario: Scenario | None) -> CueLevel | None:
    if scenario is None:
        return None
    ladder = scenario.portrayal.cue_ladder
    return {1: ladder.low, 2: ladder.medium, 3: ladder.high}[rp.intensity]


def learner_view(
    state: CourseState,
    library: Mapping[str, Scenario],
    g: GroupInfo,
    rp: Roleplay,
    scenario: Scenario | None,
    now: datetime,
    schedule: Schedule | None,
) -> LearnerRoleplayView:
    return LearnerRoleplayView(
        room=_room(state, g, rp, now, schedule),
        scene=_scene(rp, scenario, now),
        case=CaseBrief.of(scenario) if scenario else None,
    )


def sp_view(
    state: CourseState,
    library: Mapping[str, Scenario],
    g: GroupInfo,
    rp: Roleplay,
    scenario: Scenario | None,
    now: datetime,
    schedule: Schedule | None,
) -> SpRoleplayView:
    return SpRoleplayView(
        room=_room(state, g, rp, now, schedule),
        scene=_scene(rp, scenario, now),
        case=scenario,
        beat=_beat(rp, scenario)[0],
        cues=rp.cues,
        intensity_name=INTENSITY_NAMES[rp.intensity],
        cue_level=_cue_level(rp, scenario),
        portrayals=portrayals_of(state, g, scenario, now, schedule),
        tz=schedule.tz if schedule else None,
    )


def facilitator_view(
    state: CourseState,
    library: Mapping[str, Scenario],
    g: GroupInfo,
    rp: Roleplay,
    scenario: Scenario | None,
    now: datetime,
    schedule: Schedule | None,
) -> FacilitatorRoleplayView:
    people = state.people
    members = tuple(people.by_id[m] for m in g.members if m in people.by_id)
    per: dict[str, float] = {}
    fixed: dict[str, float] = {}  # time used, the running turn's counted to when it last ran
    since: dict[str, datetime] = {}
    for turn in rp.turns:
        per[turn.learner] = per.get(turn.learner, 0.0) + turn.seconds_used(now)
        fixed[turn.learner] = fixed.get(turn.learner, 0.0) + turn.elapsed
        if turn.running_since:
            since[turn.learner] = turn.running_since
    return FacilitatorRoleplayView(
        room=_room(state, g, rp, now, schedule),
        scene=_scene(rp, scenario, now),
        rp=rp,
        case=scenario,
        beat=_beat(rp, scenario)[0],
        intensity_name=INTENSITY_NAMES[rp.intensity],
        cue_level=_cue_level(rp, scenario),
        turns=tuple(
            TurnRow(x, Who.of(people.get(x.learner)), x.seconds_used(now)) for x in rp.turns
        ),
        order=tuple(
            LearnerOrder(
                Who(p.id, p.name, p.online),
                rp.turns_of(p.id),
                per.get(p.id, 0.0),
                p.online,
                since[p.id] - timedelta(seconds=fixed[p.id]) if p.id in since else None,
            )
            for p in members
        ),
        library=tuple(
            sorted((s for s in library.values() if s.track == g.track), key=lambda s: s.title)
        ),
        portrayals=portrayals_of(state, g, scenario, now, schedule),
        tz=schedule.tz if schedule else None,
    )


BUILDERS: Mapping[str, Callable[..., RoleplayView]] = {
    "learner": learner_view,
    "sp": sp_view,
    "facilitator": facilitator_view,
}


PREVIEW_GROUP = "Preview"


def preview_views(case: Scenario, now: datetime) -> dict[str, RoleplayView]:
    """`case` as each role would see it with a turn running at its first beat: the views the
    live pages show, built by the same builders from a group that exists only for the preview
    (an author checks the door note, the teleprompter and the controls before publishing)."""
    from server.domain.roleplay import RoleplaysState
    from server.domain.rooms import RoomsState

    g = GroupInfo(PREVIEW_GROUP, case.track, None, (), ())
    beats = tuple(b.id for b in case.beats)
    turn = Turn("", case.goal_suggestions[0], now, running_since=now, scenario=case.id)
    rp = Roleplay(
        group=g.name,
        phase=Phase.RUNNING,
        scenario=case.id,
        beats=beats,
        minutes=case.door_note.time_minutes,
        beat=beats[0],
        turns=(turn,),
        started_at=now,
    )
    state = CourseState(
        rooms=RoomsState(groups={g.name: g}),
        roleplays=RoleplaysState(by_group={g.name: rp}),
    )
    out = {}
    for role in BUILDERS:
        view = build_roleplay_view(state, {case.id: case}, g.name, role, now)
        if view is not None:
            out[role] = view
    return out
