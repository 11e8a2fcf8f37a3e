"""A token bucket: a page or a person that sends too much is told to slow down."""

from __future__ import annotations

import time

RATE = 20.0  # messages per second a page may send, sustained
BURST = 40.0  # and in a burst


class RateLimit:
    """A token bucket per connection: a page that floods the socket is told to slow down and its
    excess messages are dropped, so it cannot crowd out anyone else."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.last = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False
