"""Replay: how the time to rebuild the state from the log grows with its events, by type.

A cold start replays the whole log; it must stay linear in events of every type. The baseline
in the same run is presence (joins and leaves), the cheapest events; feedback submissions carry
a submission id each, which the state keeps for every id ever used; chat messages too (in 19
group rooms and the plenary, one in ten a private line), and the state keeps every message.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.course_state import CourseState, apply
from server.domain.events import Event
from server.domain.people import Discipline, Registration, Track
from server.domain.roles import Role

T0 = datetime(2026, 5, 14, 15, tzinfo=UTC)
PEOPLE = 150


def _people() -> list[Event]:
    out = []
    for i in range(PEOPLE):
        reg = Registration(
            f"P {i}", f"p{i}@example.org", Role.LEARNER, Discipline.NURSE, Track.ADULT
        )
        out.append(Event(i + 1, "person.registered", "cli", T0, {"id": f"p{i}", **reg.as_data()}))
    return out


def _log(kind: str, n: int) -> list[Event]:
    events = _people()
    seq = len(events)
    for i in range(n):
        seq += 1
        at = T0 + timedelta(seconds=i)
        who = f"p{i % PEOPLE}"
        if kind == "presence":
            typ = "presence.joined" if (i // PEOPLE) % 2 == 0 else "presence.left"
            data: dict[str, Any] = {"person": who, "conn": f"c-{who}"}
        elif kind == "chat":
            typ = "chat.sent"
            room = "plenary" if i % 5 == 0 else f"group:Adult {i % 19 + 1}"
            data = {"sid": f"chat-{i:08d}", "room": room, "text": f"Message {i}"}
            if i % 10 == 3:
                data["to"] = [f"p{(i + 7) % PEOPLE}"]
        else:
            typ = "feedback.submitted"
            data = {
                "sid": f"sid-{i:08d}",
                "group": f"Adult {i % 19 + 1}",
                "turn": i // 400 + 1,
                "capacity": "peer",
                "learner": f"p{(i + 1) % PEOPLE}",
                "instrument": "nurse",
                "answers": {"naming": "observed", "worked": "You named it."},
            }
        events.append(Event(seq, typ, who, at, data))
    return events


def replay_seconds(events: list[Event]) -> float:
    t0 = time.perf_counter()
    state = CourseState()
    for e in events:
        state = apply(state, e)
    return time.perf_counter() - t0


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    rows = []
    for n in sizes:
        for kind in ("presence", "feedback", "chat"):
            log = _log(kind, n)
            times = [replay_seconds(log) for _ in range(repeats)]
            median = statistics.median(times)
            rows.append(
                {
                    "events": n,
                    "type": kind,
                    "median_s": round(median, 2),
                    "events_per_s": f"{n / median:,.0f}",
                }
            )
    return {
        "title": "Replay by event type",
        "goal": (
            "linear in events of every type: feedback and chat within a small factor of presence"
        ),
        "columns": ["events", "type", "median_s", "events_per_s"],
        "rows": rows,
        "notes": [
            f"Each row replays {PEOPLE} registrations and then that many events of one type "
            "through the course's own `apply`, median of the repeats.",
            "Before the submission maps grew without being copied whole per event "
            "(server/domain/growing.py, after commit e8dfad1), the same replay measured on "
            "2026-12-01 on this machine: 10,000 feedback events 0.92 s and 50,000 in 17.24 s "
            "(2,899/s), against presence 0.42 s and 2.24 s in the same run.",
            "Growing (server/domain/growing.py) first merged its recent part into the whole "
            "every √n keys (n·√n copies): on 2026-12-01 at 21:22 UTC, 200,000 feedback events "
            "took 10.56 s and 200,000 chat messages 14.79 s (presence 4.31 s in the same run); "
            "it now keeps levels that merge like a binary counter (about log₂ n copies a key).",
        ],
    }
