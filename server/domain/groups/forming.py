"""Balanced interprofessional small groups: pure and deterministic for a given seed.

The rule, per track (a learner registered for "both" goes with their chosen track, adult unless
they chose otherwise):

1. Group count: the fewest groups that keep every group at or under `max_size`; sizes differ by
   at most one. A track with fewer learners than `min_size` forms one smaller group (reported).
2. Teams (setting "together"): people who registered together are placed first, as blocks, into
   the groups with the most room left. A team larger than `max_size` is split (reported).
   With "spread", team members are treated as individuals and dealt apart like everyone else.
3. Everyone else is dealt discipline by discipline, rarest first, round the groups in turn,
   skipping full ones: each discipline spreads as evenly as the roster allows, which gives the
   most distinct disciplines per group and no discipline more than its fair share
   (ceil(count / groups)) where teams do not force it.
4. Facilitators of the track (then "both") are dealt one per group; spare ones are listed.
5. SP actors of the track (then "both") are dealt one per group. With fewer actors than groups,
   a practice-block timetable gives every group one slot with an actor, and no actor is in two
   groups in the same slot.

Runs in O(n log n) in the number of learners.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from server.domain.errors import DomainError


@dataclass(frozen=True)
class Member:
    email: str
    discipline: str
    track: str  # "adult" or "pediatric" (a "both" registrant's chosen track)
    team: str | None = None


@dataclass(frozen=True)
class Staff:
    email: str
    track: str  # "adult", "pediatric" or "both"


@dataclass(frozen=True)
class Settings:
    min_size: int = 6
    max_size: int = 8
    teams: str = "together"  # or "spread"

    def check(self) -> None:
        if not 1 <= self.min_size <= self.max_size:
            raise DomainError(
                f"Group sizes need 1 ≤ minimum ≤ maximum (got {self.min_size}–{self.max_size})."
            )
        if self.teams not in ("together", "spread"):
            raise DomainError(f"Teams must be 'together' or 'spread', not {self.teams!r}.")


@dataclass
class Group:
    name: str
    track: str
    target: int
    members: list[Member] = field(default_factory=list)
    facilitator: str | None = None
    sps: list[str] = field(default_factory=list)

    @property
    def room(self) -> int:
        return self.target - len(self.members)


@dataclass(frozen=True)
class GroupQuality:
    name: str
    size: int
    disciplines: int
    best_disciplines: int
    over_share: tuple[str, ...]  # disciplines above their fair share in this group
    has_facilitator: bool
    has_sp: bool


@dataclass(frozen=True)
class Assignment:
    groups: tuple[Group, ...]
    unassigned: tuple[tuple[str, str], ...]  # (email, reason)
    sp_timetable: dict[str, tuple[tuple[str, str], ...]]  # track -> ((group, sp) per slot...)
    sp_slots: dict[str, int]  # track -> number of slots the practice block is split into
    notes: tuple[str, ...]
    quality: tuple[GroupQuality, ...]
    bound: int  # the most (group, discipline) pairs any grouping of this roster could reach

    @property
    def distinct(self) -> int:
        return sum(q.disciplines for q in self.quality)

    @property
    def score(self) -> float:
        """Distinct disciplines per group summed, over the best possible (1.0 is best)."""
        return self.distinct / self.bound if self.bound else 1.0

    def slot(self, group: str) -> int:
        """The practice-block slot (0-based) in which `group` has its SP actor."""
        for plan in self.sp_timetable.values():
            actors = len({a for _, a in plan})
            for i, (name, _) in enumerate(plan):
                if name == group:
                    return i // actors
        return 0


def group_sizes(n: int, settings: Settings) -> list[int]:
    """Sizes for `n` learners: fewest groups within the maximum, sizes differing by at most one."""
    if n == 0:
        return []
    count = math.ceil(n / settings.max_size)
    base, extra = divmod(n, count)
    return [base + 1] * extra + [base] * (count - extra)


def _units(members: Sequence[Member], settings: Settings) -> tuple[list[list[Member]], list[str]]:
    """Teams as blocks (split if larger than a group), and everyone else one by one."""
    notes: list[str] = []
    if settings.teams == "spread":
        return [[m] for m in members], notes
    by_team: dict[str, list[Member]] = defaultdict(list)
    singles: list[list[Member]] = []
    for m in members:
        if m.team:
            by_team[m.team].append(m)
        else:
            singles.append([m])
    blocks = []
    for team, people in sorted(by_team.items()):
        if len(people) > settings.max_size:
            notes.append(
                f"team {team!r} has {len(people)} people, more than a group holds; it was split"
            )
        for i in range(0, len(people), settings.max_size):
            blocks.append(people[i : i + settings.max_size])
    return blocks + singles, notes


def _place_track(
    track: str, members: list[Member], settings: Settings, rng: random.Random
) -> tuple[list[Group], list[str]]:
    sizes = group_sizes(len(members), settings)
    label = track.capitalize()
    groups = [Group(f"{label} {i + 1}", track, t) for i, t in enumerate(sizes)]
    notes = []
    if sizes and min(sizes) < settings.min_size:
        shape = " and ".join(f"{sizes.count(x)} of {x}" for x in sorted(set(sizes), reverse=True))
        notes.append(
            f"{len(members)} {track} learners cannot all be in groups of "
            f"{settings.min_size}–{settings.max_size}: made {len(sizes)} groups ({shape})"
        )
    if not groups:
        return groups, notes
    units, unit_notes = _units(members, settings)
    notes += unit_notes
    blocks = [u for u in units if len(u) > 1]
    singles = [u[0] for u in units if len(u) == 1]

    # Teams first, biggest first, each into the group with the most room (ties by index).
    rng.shuffle(blocks)
    blocks.sort(key=len, reverse=True)
    heap = [(-g.room, i) for i, g in enumerate(groups)]
    heapq.heapify(heap)
    for block in blocks:
        room, i = heapq.heappop(heap)
        groups[i].members.extend(block)
        if len(block) > -room:
            groups[i].target = len(groups[i].members)  # a team may overfill its target
        heapq.heappush(heap, (-groups[i].room, i))

    # Then everyone else, discipline by discipline (rarest first), dealt round the groups.
    rng.shuffle(singles)
    counts = Counter(m.discipline for m in singles)
    singles.sort(key=lambda m: (counts[m.discipline], m.discipline))
    ring = [g for g in groups if g.room > 0]
    rng.shuffle(ring)
    i = 0
    for m in singles:
        i %= len(ring)
        while ring[i].room <= 0:  # full: leave the ring
            ring.pop(i)
            i %= len(ring)
        ring[i].members.append(m)
        i += 1
    return groups, notes


def _deal_staff(
    groups: list[Group], pool: list[str], kind: str, track: str
) -> tuple[list[str], list[str]]:
    """One of `pool` per group in order; returns (spare, notes)."""
    notes = []
    for g, person in zip(groups, pool, strict=False):
        if kind == "facilitator":
            g.facilitator = person
        else:
            g.sps.append(person)
    if kind == "facilitator" and len(pool) < len(groups):
        notes.append(
            f"{len(groups) - len(pool)} {track} groups have no facilitator "
            f"({len(pool)} facilitators for {len(groups)} groups)"
        )
    return pool[len(groups) :], notes


def assign(
    learners: Iterable[Member],
    facilitators: Iterable[Staff],
    sps: Iterable[Staff],
    settings: Settings | None = None,
    seed: int = 0,
) -> Assignment:
    """Groups for `learners` with staff. The same inputs and seed always give the same groups."""
    settings = settings or Settings()
    settings.check()
    rng = random.Random(seed)
    by_track: dict[str, list[Member]] = {"adult": [], "pediatric": []}
    unassigned = []
    for m in sorted(learners, key=lambda m: m.email):
        if m.track not in by_track:
            unassigned.append((m.email, f"track {m.track!r} is neither adult nor pediatric"))
            continue
        by_track[m.track].append(m)

    fac_pool = sorted(facilitators, key=lambda s: s.email)
    sp_pool = sorted(sps, key=lambda s: s.email)
    rng.shuffle(fac_pool)
    rng.shuffle(sp_pool)
    groups: list[Group] = []
    notes: list[str] = []
    timetable: dict[str, tuple[tuple[str, str], ...]] = {}
    slots: dict[str, int] = {}
    spare_fac = [f.email for f in fac_pool if f.track == "both"]
    spare_sp = [s.email for s in sp_pool if s.track == "both"]
    for track in ("adult", "pediatric"):
        tgroups, tnotes = _place_track(track, by_track[track], settings, rng)
        notes += tnotes
        own_fac = [f.email for f in fac_pool if f.track == track]
        need = max(0, len(tgroups) - len(own_fac))
        pool = own_fac + spare_fac[:need]
        spare_fac = spare_fac[need:]
        _, fnotes = _deal_staff(tgroups, pool, "facilitator", track)
        notes += fnotes
        own_sp = [s.email for s in sp_pool if s.track == track]
        need = max(0, len(tgroups) - len(own_sp))
        actors = own_sp + spare_sp[:need]
        spare_sp = spare_sp[need:]
        if tgroups and actors:
            if len(actors) >= len(tgroups):
                for i, a in enumerate(actors):  # extra actors join groups as second SPs
                    tgroups[i % len(tgroups)].sps.append(a)
                slots[track] = 1
            else:
                k = math.ceil(len(tgroups) / len(actors))
                slots[track] = k
                plan = []
                for i, g in enumerate(tgroups):
                    actor = actors[i % len(actors)]
                    g.sps.append(actor)
                    plan.append((g.name, actor))
                timetable[track] = tuple(plan)
                notes.append(
                    f"{len(actors)} {track} SP actors for {len(tgroups)} groups: the practice "
                    f"block is split into {k} slots so each group has an actor for one of them"
                )
        elif tgroups:
            notes.append(f"no SP actors for the {track} groups")
        groups += tgroups
    quality = []
    bound = 0
    for track in ("adult", "pediatric"):
        tgroups = [g for g in groups if g.track == track]
        counts = Counter(m.discipline for m in by_track[track])
        quality += [_quality(g, counts, len(tgroups)) for g in tgroups]
        # No group holds more distinct disciplines than members or than the track has; no
        # discipline appears in more groups than it has members.
        by_groups = sum(min(len(g.members), len(counts)) for g in tgroups)
        by_disciplines = sum(min(c, len(tgroups)) for c in counts.values())
        bound += min(by_groups, by_disciplines)
    return Assignment(
        groups=tuple(groups),
        unassigned=tuple(unassigned),
        sp_timetable=timetable,
        sp_slots=slots,
        notes=tuple(notes),
        quality=tuple(quality),
        bound=bound,
    )


def _quality(g: Group, overall: Counter[str], groups_in_track: int) -> GroupQuality:
    here = Counter(m.discipline for m in g.members)
    best = min(len(g.members), len(overall))
    over = tuple(sorted(d for d, c in here.items() if c > math.ceil(overall[d] / groups_in_track)))
    return GroupQuality(
        name=g.name,
        size=len(g.members),
        disciplines=len(here),
        best_disciplines=best,
        over_share=over,
        has_facilitator=g.facilitator is not None,
        has_sp=bool(g.sps),
    )
