"""The one injectable clock: real time, or a rehearsal clock that runs a course day in minutes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time. `speed` is how many course seconds pass per real second."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds_until(self, instant: datetime) -> float:
        return max(0.0, (instant - self.now()).total_seconds() / self.speed)

    def describe(self) -> str:
        return "real time"


class RehearsalClock(Clock):
    """Course time that starts at `start` and runs `speed` times faster than real time.

    `monotonic` is injectable so that tests can drive it without sleeping.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the rehearsal start must carry a time zone")
        if not 0 < speed <= 3600:
            raise ValueError(f"the rehearsal speed must be above 0 and at most 3600, not {speed}")
        self.speed = speed
        self._monotonic = monotonic
        self._start = start.astimezone(UTC)
        self._anchor = monotonic()
        self.epoch = time.time()  # the wall time at which this clock read `start`

    @classmethod
    def started_at(cls, start: datetime, speed: float, wall_epoch: float) -> RehearsalClock:
        """A rehearsal clock that was at `start` at the Unix time `wall_epoch`: several worker
        processes started at different moments agree on course time."""
        elapsed = max(0.0, time.time() - wall_epoch)
        clock = cls(start + timedelta(seconds=elapsed * speed), speed)
        clock.epoch = wall_epoch
        return clock

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._anchor) * self.speed)

    def jump(self, to: datetime) -> None:
        """Set course time to `to`, forward or back."""
        self._start = to.astimezone(UTC)
        self._anchor = self._monotonic()

    def describe(self) -> str:
        return f"rehearsal clock at {self.speed:g}× speed"
