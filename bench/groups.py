"""Group assignment: time and quality for large synthetic rosters.

The bound: for each track, no grouping can have more distinct (group, discipline) pairs than
the sum over groups of min(group size, disciplines in the track), nor more than the sum over
disciplines of min(learners of that discipline, groups). The smaller of the two is the bound;
the score is the pairs achieved, less `over_share`, divided by it. `over_share` counts the
learners beyond their discipline's fair share of the track in their group (its share of the
track times the group's size, rounded up), summed over the groups.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from server.domain.groups.forming import Member, Settings, Staff, assign

DISCIPLINES = [
    ("physician", 30),
    ("nurse", 25),
    ("nurse_practitioner", 10),
    ("physician_assistant", 6),
    ("psychologist", 4),
    ("pharmacist", 4),
    ("social_worker", 10),
    ("chaplain", 5),
    ("resident_fellow", 4),
    ("other", 2),
]


def roster(n: int, seed: int) -> tuple[list[Member], list[Staff], list[Staff]]:
    """A skewed, realistic mix: many physicians and nurses, few pharmacists; 10% in teams."""
    rng = random.Random(seed)
    names, weights = zip(*DISCIPLINES, strict=True)
    learners = []
    for i in range(n):
        team = f"team{i // 3}" if rng.random() < 0.1 else None
        track = "pediatric" if rng.random() < 0.35 else "adult"
        learners.append(Member(f"l{i}@example.org", rng.choices(names, weights)[0], track, team))
    groups = n // 7 + 2
    fac = [Staff(f"f{i}@example.org", rng.choice(["adult", "pediatric"])) for i in range(groups)]
    tracks = ["adult", "pediatric"]
    sps = [Staff(f"s{i}@example.org", rng.choice(tracks)) for i in range(groups // 3)]
    return learners, fac, sps


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    rows = []
    for n in sizes:
        learners, fac, sps = roster(n, seed=n)
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            a = assign(learners, fac, sps, Settings(), seed=r)
            times.append(time.perf_counter() - t0)
        rows.append(
            {
                "learners": n,
                "groups": len(a.groups),
                "median_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
                "pairs": a.distinct,
                "bound": a.bound,
                "over_share": sum(q.excess for q in a.quality),
                "score": round(a.score, 4),
            }
        )
    return {
        "title": "Group assignment",
        "goal": "10,000 learners in under a second",
        "columns": [
            "learners",
            "groups",
            "median_ms",
            "max_ms",
            "pairs",
            "bound",
            "over_share",
            "score",
        ],
        "rows": rows,
        "notes": [__doc__.split("\n\n", 1)[1].strip().replace("\n", " ")],
    }
