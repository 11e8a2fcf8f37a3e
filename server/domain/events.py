"""Events: the only record of change. State is a projection of the log of events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    """An event decided but not yet stored: it has no sequence number yet."""

    type: str
    actor: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A stored event. `seq` counts from 1 per course without gaps; `at` is UTC."""

    seq: int
    type: str
    actor: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
