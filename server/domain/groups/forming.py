"""Balanced interprofessional small groups: pure and deterministic for a given seed.

The rule, per track (a learner registered for "both" goes with their chosen track, adult unless
they chose otherwise):

1. Group count: the fewest groups that keep every group at or under `max_size`; sizes differ by
   at most one. A track with fewer learners than `min_size` forms one smaller group (reported).
2. Teams (setting "together"): people who registered together are placed first, as blocks, into
   the group (of those with the most room) where they put fewest people over their discipline's
   fair share. A team larger than `max_size` is split (reported). With "spread", team members
   are treated as individuals and dealt apart like everyone else.
3. Everyone else is placed at the least cost (a minimum-cost flow, so no swap or move of two
   people could do better): the first of a discipline in a group earns it a distinct discipline
   (worth more than anything else), up to the discipline's fair share is free (its share of the
   track times the group's size, rounded up, teams counted), and each one past it costs how far
   past it is, so excess that teams force is spread thin rather than piled into one group.
   A track of more than CHUNK groups is cut into blocks that each get their proportional share
   of every discipline (within one), each placed at its least cost.
4. Facilitators of the track (then "both") are dealt one per group; spare ones are listed.
5. SP actors of the track (then "both") are dealt one per group. With fewer actors than groups,
   a practice-block timetable gives every group one slot with an actor, and no actor is in two
   groups in the same slot.

Milliseconds for the course; 10,000 learners in under a second (BENCHMARKS.md).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
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
    excess: int = 0  # members beyond their discipline's fair share here


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
        """Distinct disciplines per group summed, less every member beyond their discipline's
        fair share in their group, over the best possible (1.0 is best)."""
        excess = sum(q.excess for q in self.quality)
        return max(0, self.distinct - excess) / self.bound if self.bound else 1.0

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


CANDIDATES = 32  # groups with the most room a team is weighed against
CHUNK = 16  # groups placed together, at the least cost of all (larger tracks: in blocks)


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

    # What each discipline's fair share is in a group of a given size: its share of the track.
    track_counts = Counter(m.discipline for m in members)
    total = len(members)

    def fair(discipline: str, size: int) -> int:
        return fair_share(track_counts[discipline], size, total)

    # Teams first, biggest first, each into the group it overloads least (a discipline over its
    # fair share there) among the CANDIDATES with the most room, then by room and index.
    have = [Counter[str]() for _ in groups]
    rng.shuffle(blocks)
    blocks.sort(key=len, reverse=True)
    by_room = [(-g.room, i) for i, g in enumerate(groups)]
    heapq.heapify(by_room)
    for block in blocks:
        need = Counter(m.discipline for m in block)
        picked = [heapq.heappop(by_room) for _ in range(min(CANDIDATES, len(by_room)))]

        def cost(entry: tuple[int, int], need: Counter[str] = need) -> tuple[int, int, int, int]:
            room, i = -entry[0], entry[1]
            g = groups[i]
            over = sum(max(0, have[i][d] + n - fair(d, g.target)) for d, n in need.items())
            return (int(room < sum(need.values())), over, -room, i)

        best = min(picked, key=cost)
        i = best[1]
        groups[i].members.extend(block)
        have[i].update(need)
        if groups[i].room < 0:
            groups[i].target = len(groups[i].members)  # a team may overfill its target
        for entry in picked:
            heapq.heappush(by_room, (-groups[entry[1]].room, entry[1]))

    # Then everyone else, placed all at once at the least cost (see `placement_cost`): the most
    # distinct disciplines per group first, then the fewest over their fair share, any excess
    # spread rather than piled up.
    rng.shuffle(singles)
    order = list(range(len(groups)))
    rng.shuffle(order)  # ties go to groups in this order: another seed, another arrangement
    # A large track is cut into blocks of CHUNK groups, each given its proportional share of
    # every discipline, and placed block by block (the cost grows with the square of a block).
    chunks = [order[i : i + CHUNK] for i in range(0, len(order), CHUNK)]
    ranked = sorted(singles, key=lambda m: m.discipline)
    slots = sorted(
        ((t + 0.5) / groups_room, c)
        for c, chunk in enumerate(chunks)
        if (groups_room := sum(groups[i].room for i in chunk)) > 0
        for t in range(groups_room)
    )
    share: list[list[Member]] = [[] for _ in chunks]
    for m, (_, c) in zip(ranked, slots, strict=False):
        share[c].append(m)
    for chunk, people in zip(chunks, share, strict=True):
        pool: dict[str, list[Member]] = defaultdict(list)
        for m in people:
            pool[m.discipline].append(m)
        flow = _cheapest(
            Counter({d: len(ms) for d, ms in pool.items()}),
            [have[i] for i in chunk],
            [groups[i].room for i in chunk],
            lambda d, k, chunk=chunk: fair(d, groups[chunk[k]].target),  # type: ignore[misc]
        )
        for (d, k), n in sorted(flow.items()):
            groups[chunk[k]].members.extend(pool[d][:n])
            del pool[d][:n]
    return groups, notes


DISTINCT = 1_000  # what one more distinct discipline in a group is worth, against excess


def marginal(count: int, fair: int) -> int:
    """What the `count`-th member of one discipline in one group costs: the first earns the
    group a distinct discipline; up to the fair share is free; past it, each costs how far
    past it is (so two groups one over cost less than one group two over)."""
    if count == 1:
        return -DISTINCT
    return max(0, count - fair)


def placement_cost(here: Counter[str], fair: Callable[[str], int]) -> int:
    """The cost of one group's mix, `here` (people per discipline): the sum of `marginal`."""
    return sum(marginal(c, fair(d)) for d, n in here.items() for c in range(1, n + 1))


def _cheapest(
    supply: Counter[str],
    have: list[Counter[str]],
    room: list[int],
    fair: Callable[[str, int], int],
) -> Counter[tuple[str, int]]:
    """How many of each discipline (`supply`) go into each group k (`room[k]` places, holding
    `have[k]` already) at the least total `placement_cost`: a minimum-cost flow, built one
    person at a time along the cheapest path (which may move people already placed from one
    group to another), found by Bellman-Ford with a queue. The costs are convex, so the result
    is the cheapest of all."""
    names = sorted(d for d, n in supply.items() if n > 0)
    left = [supply[d] for d in names]
    room = list(room)
    ds, gs = range(len(names)), range(len(room))
    count = [[have[k][d] for k in gs] for d in names]  # in group k, teams and placed
    share = [[fair(d, k) for k in gs] for d in names]
    placed = [[0 for _ in gs] for _ in names]
    inf = math.inf
    for _ in range(sum(left)):
        dist_d = [0.0 if left[d] else inf for d in ds]
        dist_g = [inf for _ in gs]
        via_d = [-1 for _ in ds]  # a discipline reached by taking one of it out of group k
        via_g = [-1 for _ in gs]  # a group reached by adding one of discipline d
        queue = [d for d in ds if left[d]]
        queued = set(queue)
        while queue:
            d = queue.pop(0)
            queued.discard(d)
            base, row, fair_row = dist_d[d], count[d], share[d]
            for k in gs:
                c = row[k] + 1
                cost = base + marginal(c, fair_row[k])
                if cost < dist_g[k]:
                    dist_g[k], via_g[k] = cost, d
                    for e in ds:  # one of e here could move on to another group
                        if placed[e][k] > 0:
                            n = count[e][k]
                            f = share[e][k]
                            back = cost - marginal(n, f)
                            if back < dist_d[e]:
                                dist_d[e], via_d[e] = back, k
                                if e not in queued:
                                    queued.add(e)
                                    queue.append(e)
        k = min((k for k in gs if room[k] > 0), key=lambda k: dist_g[k])  # first of equals
        room[k] -= 1
        while True:  # back along the path: add here, take from where this one came from
            d = via_g[k]
            count[d][k] += 1
            placed[d][k] += 1
            if via_d[d] < 0:  # the path's start: a person not yet placed
                break
            k = via_d[d]
            count[d][k] -= 1
            placed[d][k] -= 1
        left[d] -= 1
    return Counter({(names[d], k): placed[d][k] for d in ds for k in gs if placed[d][k]})


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


def fair_share(count: int, size: int, total: int) -> int:
    """A discipline's fair share of a group of `size`: its `count` of the track's `total`
    learners, times the size, rounded up."""
    return math.ceil(count * size / total)


def over_share(here: Counter[str], track: Counter[str]) -> tuple[str, ...]:
    """The disciplines a group of `here` holds more of than its fair share: a discipline's
    share of the track (`track`) times the group's size, rounded up."""
    size, total = sum(here.values()), sum(track.values())
    if not total:
        return ()
    return tuple(sorted(d for d, c in here.items() if c > fair_share(track[d], size, total)))


def excess(here: Counter[str], track: Counter[str]) -> int:
    """How many members of a group are beyond their discipline's fair share."""
    size, total = sum(here.values()), sum(track.values())
    if not total:
        return 0
    return sum(max(0, c - fair_share(track[d], size, total)) for d, c in here.items())


def _quality(g: Group, overall: Counter[str], groups_in_track: int) -> GroupQuality:
    here = Counter(m.discipline for m in g.members)
    best = min(len(g.members), len(overall))
    over = over_share(here, overall)
    return GroupQuality(
        name=g.name,
        size=len(g.members),
        disciplines=len(here),
        best_disciplines=best,
        over_share=over,
        has_facilitator=g.facilitator is not None,
        has_sp=bool(g.sps),
        excess=excess(here, overall),
    )
