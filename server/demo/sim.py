"""Simulated participants for the demo: a course already in motion.

Every simulated person acts only through the commands a real person's page sends (joins and
leaves, turns, time-outs, cues, feedback, reflections, evaluations), executed by the one writer;
nothing writes state directly. The pace follows the course clock, so a rehearsal at 5x moves five
times as fast. The people whose links the demo prints are left alone: whoever opens those links
sees exactly what that person would, and drives them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from server.content.cases import Scenario
from server.content.instruments import evaluation_form, required, spec
from server.content.shelf import case_at
from server.domain import feedback, roleplay
from server.domain.agenda import Kind, ScheduledItem
from server.domain.course_state import Command
from server.domain.errors import DomainError
from server.domain.evaluations import SubmitEvaluation, evaluation_keys, evaluation_opens
from server.domain.media import media_room
from server.domain.people import Person
from server.domain.people_rules import Connect, Disconnect
from server.domain.placement import place_of, sp_window, sps_with
from server.domain.reflections import WriteReflection
from server.domain.roles import Actor, Role
from server.domain.submissions import OBSERVED_CHOICES
from server.domain.talk import AskQuestion, SendChat, Upvote, is_question_room
from server.live.views.feedback import turn_instrument
from server.store import StoreError

if TYPE_CHECKING:
    from server.service.course import CourseService

log = logging.getLogger("companion.sim")

TICK_SECONDS = 0.5  # real seconds between steps
WORKED = (
    "You stopped after the news and let the silence do the work.",
    "Asking what they already knew set the pace well.",
    "You named the worry out loud before answering it.",
    "The warning shot landed gently and gave them a moment.",
    "Your summary at the end gave them something to hold on to.",
)
TRY = (
    "Try one fewer sentence after the headline, then wait.",
    "Check what they heard before moving to the plan.",
    "Use their words back to them when you respond to emotion.",
    "Ask permission before sharing the numbers.",
    "Make the recommendation explicit, tied to what matters to them.",
)
QUOTES = (
    "I wish I had better news.",
    "What are you most worried about?",
    "It sounds like you have been carrying this for a long time.",
    "Tell me more about what a good day looks like for him.",
)
REFLECTIONS = (
    "Staying quiet after the news felt endless, but it gave the family room to speak.",
    "I noticed how quickly I reach for facts when someone is upset.",
    "Hearing the others try the same conversation showed me three ways in.",
    "I want to remember to ask what matters most before I recommend anything.",
)
CHAT = (
    "Can everyone hear me?",
    "Thank you, that was a helpful way to put it.",
    "Could you say the last point again?",
    "I'm back, my connection dropped for a moment.",
    "That is exactly what happens on our unit.",
    "Good point about asking permission first.",
)
QUESTIONS = (
    "How do you start an opioid in someone with kidney failure?",
    "What do you say when a family asks for everything to be done?",
    "How do you involve a child who is old enough to understand?",
    "When do you bring in the palliative care team?",
)
NEXT_TIME = (
    "pause after the headline and count to five.",
    "ask what they understand before I explain.",
    "name the emotion before I offer information.",
)


@dataclass
class GroupPlan:
    next_at: datetime
    timeout_done: bool = False


@dataclass
class Simulation:
    service: CourseService
    spare: frozenset[str]  # people whose pages real people drive
    seed: int = 1
    rng: random.Random = field(init=False)
    plans: dict[str, GroupPlan] = field(default_factory=dict)
    online: dict[str, str] = field(default_factory=dict)  # person -> simulated connection id
    back_at: dict[str, datetime] = field(default_factory=dict)  # dropped: reconnect then
    wrote: set[tuple[str, str]] = field(default_factory=set)  # (person, agenda item) reflected
    actions: int = 0
    refused: int = 0
    _conn: int = 0
    talk_rng: random.Random = field(init=False)  # its own, so talk does not change the rest

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.talk_rng = random.Random(self.seed * 7919 + 1)

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                await self.step(self.service.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a simulation step failed; carrying on")
            await asyncio.sleep(TICK_SECONDS)

    async def leave_all(self) -> None:
        """Everyone simulated closes their page (the demo is stopping): nobody is left online."""
        for pid, conn in list(self.online.items()):
            if await self.act(Disconnect(conn), pid):
                del self.online[pid]

    async def act(self, command: Command, person: Person | str) -> bool:
        p = self.service.state.people.get(person) if isinstance(person, str) else person
        if p is None or p.id in self.spare:
            return False
        try:
            await self.service.execute(command, Actor(p.id, p.role))
        except (DomainError, StoreError) as e:  # a real person got there first, or no store
            self.refused += 1
            log.debug("simulated %s refused: %s", type(command).__name__, e)
            return False
        self.actions += 1
        return True

    def simulated(self, role: Role) -> list[Person]:
        return [
            p
            for p in self.service.state.people.of_role(role)
            if p.id not in self.spare and not p.revoked
        ]

    async def step(self, now: datetime) -> None:
        await self._presence(now)
        item = self.service.schedule.current(now)
        if item is None:
            return
        if item.item.kind is Kind.PRACTICE:
            for name in sorted(self.service.state.rooms.groups):
                await self._group(name, item, now)
                await self._feedback(name, item, now)
        if item.item.prompts:
            await self._reflections(item, now)
        await self._evaluations(now)
        await self._talk(now)

    # --- joins and leaves -------------------------------------------------------------------

    async def _presence(self, now: datetime) -> None:
        everyone = [
            *self.simulated(Role.LEARNER),
            *self.simulated(Role.FACILITATOR),
            *self.simulated(Role.SP),
        ]
        for p in everyone:
            if p.id in self.online:
                continue
            due = self.back_at.get(p.id)
            if due is not None and now < due:
                continue
            if due is None and p.role is Role.LEARNER and self.rng.random() < 0.1:
                self.back_at[p.id] = now + timedelta(minutes=self.rng.uniform(5, 40))
                continue  # a few learners join late
            self._conn += 1
            cid = f"sim-{self._conn}"
            if await self.act(Connect(cid), p):
                self.online[p.id] = cid
                self.back_at.pop(p.id, None)
        learners = [p for p in self.simulated(Role.LEARNER) if p.id in self.online]
        if learners and self.rng.random() < 0.02:  # a dropped connection, back in a while
            p = self.rng.choice(learners)
            if await self.act(Disconnect(self.online[p.id]), p):
                del self.online[p.id]
                self.back_at[p.id] = now + timedelta(seconds=self.rng.uniform(30, 300))

    # --- role-play ----------------------------------------------------------------------------

    def _case_for(self, track: str, item: ScheduledItem) -> Scenario | None:
        title = item.item.title.lower()
        cases = [c for c in self.service.library.values() if c.track == track]
        if not cases:
            return None

        def fit(c: Scenario) -> int:
            return sum(1 for w in c.skill.value.split("_") if len(w) > 3 and w in title)

        best = max(fit(c) for c in cases)
        return self.rng.choice(sorted((c for c in cases if fit(c) == best), key=lambda c: c.id))

    async def _group(self, name: str, item: ScheduledItem, now: datetime) -> None:
        state = self.service.state
        g = state.rooms.groups[name]
        if g.facilitator is None or g.facilitator in self.spare:
            return  # that group is run by a real facilitator
        plan = self.plans.setdefault(
            name, GroupPlan(now + timedelta(seconds=self.rng.uniform(20, 90)))
        )
        if now < plan.next_at:
            return
        play = state.roleplays.of(name)
        fac = g.facilitator
        members = [m for m in g.members if m not in self.spare]
        later = now + timedelta(seconds=self.rng.uniform(30, 60))
        # The SP actor's timetable: scenes run while the group's actor is with it.
        sps = sps_with(state.rooms, g, item, now)
        start, end = sp_window(item, g)
        if g.sps and not sps:
            if play.phase in (roleplay.Phase.RUNNING, roleplay.Phase.TIMEOUT):
                await self.act(roleplay.EndTurn(name), fac)
            elif play.phase not in (roleplay.Phase.IDLE, roleplay.Phase.DONE) and now >= end:
                await self.act(roleplay.EndRoleplay(name), fac)
            plan.next_at = max(later, start) if now < start else later
            return
        if play.phase in (roleplay.Phase.IDLE, roleplay.Phase.DONE):
            case = self._case_for(g.track, item)
            if case is not None and end - now > timedelta(minutes=15):
                beats = tuple(b.id for b in case.beats)
                await self.act(
                    roleplay.StartRoleplay(
                        name, case.id, case.track, beats, case.door_note.time_minutes
                    ),
                    fac,
                )
            plan.next_at = now + timedelta(seconds=self.rng.uniform(60, 120))
            return
        case = case_at(self.service.library, play.scenario, play.version)
        if case is None:
            return
        minutes = case.door_note.time_minutes
        if play.phase in (roleplay.Phase.BRIEFING, roleplay.Phase.DEBRIEF):
            number = len(play.turns)
            if (
                play.phase is roleplay.Phase.DEBRIEF
                and (name, number) not in state.feedback.released
            ):
                await self.act(feedback.ReleaseFeedback(name, number), fac)
                plan.next_at = later
                return
            last = play.turns[-1] if play.turns else None
            if (
                last is not None
                and (name, number) not in state.feedback.next_time
                and last.learner not in self.spare
                and self.rng.random() < 0.8
            ):
                text = "Next time I will " + self.rng.choice(NEXT_TIME)
                await self.act(
                    feedback.WriteNextTime(self._sid(), name, number, text), last.learner
                )
                plan.next_at = later
                return
            nxt = roleplay.suggest_next(play, members)
            if nxt is None or play.turns_of(nxt) >= 2 or end - now < timedelta(minutes=minutes):
                await self.act(roleplay.EndRoleplay(name), fac)
                plan.next_at = now + timedelta(minutes=2)
                return
            goal = self.rng.choice(case.goal_suggestions)
            await self.act(roleplay.BeginTurn(name, nxt, goal), fac)
            plan.timeout_done = False
            plan.next_at = now + timedelta(seconds=minutes * 60 * self.rng.uniform(0.3, 0.5))
            return
        turn = play.turn
        if turn is None:
            return
        if play.phase is roleplay.Phase.TIMEOUT:
            if turn.learner not in self.spare and self.rng.random() < 0.3 and play.beat:
                await self.act(roleplay.Rewind(name, play.beat), turn.learner)
            else:
                await self.act(roleplay.TimeIn(name), fac)
            plan.next_at = later
            return
        # Running.
        if not plan.timeout_done:
            callers = [m for m in members if m != turn.learner] or [fac]
            plan.timeout_done = await self.act(roleplay.TimeOut(name), self.rng.choice(callers))
            plan.next_at = now + timedelta(seconds=self.rng.uniform(60, 120))
            return
        if turn.seconds_used(now) >= minutes * 60 * 0.9:
            await self.act(roleplay.EndTurn(name), fac)
            plan.next_at = now + timedelta(seconds=self.rng.uniform(90, 150))
            return
        beats = play.beats
        if play.beat in beats and beats.index(play.beat) + 1 < len(beats):
            nxt_beat = beats[beats.index(play.beat) + 1]
            sp = next((s for s in sps if s not in self.spare), fac)
            await self.act(roleplay.ReachBeat(name, nxt_beat), sp)
        if self.rng.random() < 0.3:
            await self.act(roleplay.SetIntensity(name, self.rng.choice(roleplay.INTENSITIES)), fac)
        plan.next_at = now + timedelta(seconds=minutes * 60 / max(len(beats), 1))

    async def _feedback(self, name: str, item: ScheduledItem, now: datetime) -> None:
        state = self.service.state
        g = state.rooms.groups[name]
        play = state.roleplays.of(name)
        if not play.turns or play.phase in (roleplay.Phase.IDLE, roleplay.Phase.BRIEFING):
            return
        number = len(play.turns)
        turn = play.turns[-1]
        given = state.feedback.turns.get((name, number), {})
        sps = sps_with(state.rooms, g, item, now)  # an actor in another group now is busy there
        observers = [*g.members, *sps, *([g.facilitator] if g.facilitator else [])]
        for pid in observers:
            if pid in given or pid in self.spare:
                continue
            if self.rng.random() > 0.06:
                continue
            # the learner rates themselves on the global rating; the others fill the case's form
            inst = turn_instrument(turn, self.service.library, self.service.instruments, pid)
            answers: dict[str, str] = {}
            moments: dict[str, str] = {}
            for it in inst.items:
                kind = it.kind.value
                if kind == "observed":
                    answers[it.id] = self.rng.choices(OBSERVED_CHOICES, weights=(6, 3, 2, 1))[0]
                elif kind == "scale":
                    answers[it.id] = str(self.rng.choices((2, 3, 4, 5), weights=(1, 3, 4, 2))[0])
                elif kind == "quote" and self.rng.random() < 0.6:
                    answers[it.id] = self.rng.choice(QUOTES)
                    if play.beat:
                        moments[it.id] = play.beat
                elif it.id == "try":
                    answers[it.id] = self.rng.choice(TRY)
                elif kind == "text" and self.rng.random() < 0.7:
                    answers[it.id] = self.rng.choice(WORKED)
            command = feedback.SubmitFeedback(
                self._sid(), name, number, inst.id, spec(inst), answers, moments
            )
            await self.act(command, pid)

    # --- reflections and evaluations --------------------------------------------------------

    async def _reflections(self, item: ScheduledItem, now: datetime) -> None:
        for p in self.simulated(Role.LEARNER):
            if (p.id, item.id) in self.wrote or p.id not in self.online:
                continue
            if self.rng.random() > 0.02:
                continue
            self.wrote.add((p.id, item.id))
            share = self.rng.random() < 0.3 and self.service.state.rooms.group_of(p.id) is not None
            command = WriteReflection(
                self._sid(),
                item.id,
                self.rng.choice(item.item.prompts),
                self.rng.choice(REFLECTIONS),
                share,
            )
            await self.act(command, p)

    async def _evaluations(self, now: datetime) -> None:
        schedule = self.service.schedule
        done = self.service.state.feedback.evaluations
        for key in evaluation_keys(schedule):
            if now < evaluation_opens(schedule, key):
                continue
            form = evaluation_form(self.service.evaluations, key)
            for p in self.simulated(Role.LEARNER):
                if (p.id, key) in done or p.id not in self.online or self.rng.random() > 0.01:
                    continue
                answers = {}
                for it in form.items:
                    if it.kind.value == "scale":
                        answers[it.id] = str(self.rng.choice((3, 4, 4, 5, 5)))
                    elif it.kind.value == "observed":
                        answers[it.id] = "observed"
                    elif it.kind.value == "choice" and it.options:
                        answers[it.id] = self.rng.choice(list(it.options))
                await self.act(
                    SubmitEvaluation(self._sid(), key, spec(form), answers, required(form)), p
                )

    async def _talk(self, now: datetime) -> None:
        """Now and then someone online says something in their room, asks the speaker a
        question in the plenary or a session, or upvotes one already asked there."""
        state, r = self.service.state, self.talk_rng
        for pid in sorted(self.online):
            if r.random() > 0.003:
                continue
            p = state.people.get(pid)
            if p is None:
                continue
            here = media_room(place_of(state.rooms, state.people, self.service.schedule, pid, now))
            if here is None:
                continue
            asked = [q for q in state.talk.questions_in(here) if not q.answered]
            roll = r.random()
            sid = f"sim-talk-{r.getrandbits(64):016x}"
            if is_question_room(here) and p.role is Role.LEARNER and roll < 0.15:
                await self.act(AskQuestion(sid, here, r.choice(QUESTIONS)), p)
            elif asked and roll < 0.4:
                await self.act(Upvote(r.choice(asked).id), p)
            else:
                await self.act(SendChat(sid, here, r.choice(CHAT)), p)

    def _sid(self) -> str:
        return f"sim-{self.rng.getrandbits(64):016x}"
