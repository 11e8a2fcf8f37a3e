"""The watch on the event loop says when the loop stood still, for how long, and where."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from server.service.stall import StallWatch


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a blocking call on the loop's thread, as a slow render would be


async def test_a_loop_held_for_longer_than_the_threshold_is_logged_with_its_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = StallWatch(threshold=0.3)
    watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="companion.stall"):
            await asyncio.sleep(0.2)
            _hold_the_loop(0.9)
            await asyncio.sleep(0.3)
    finally:
        await watch.stop()
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "the event loop has stood still" in said
    assert "_hold_the_loop" in said  # where it stood
    assert "moves again after" in said
    assert len(watch.stalls) == 1 and 0.7 <= watch.stalls[0] <= 1.3


async def test_a_loop_that_keeps_moving_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    watch = StallWatch(threshold=0.3)
    watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="companion.stall"):
            for _ in range(8):
                _hold_the_loop(0.05)  # short pieces of work, the loop moving between them
                await asyncio.sleep(0.05)
    finally:
        await watch.stop()
    assert not [r for r in caplog.records if r.name == "companion.stall"]
    assert watch.stalls == []
