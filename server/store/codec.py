"""One encoding of events for every store: compact JSON with UTC instants."""

from __future__ import annotations

import json
from datetime import datetime

from server.domain.events import Event, NewEvent


def encode_data(e: NewEvent | Event) -> str:
    return json.dumps(dict(e.data), separators=(",", ":"), ensure_ascii=False)


def encode_at(at: datetime) -> str:
    return at.isoformat()


def decode(seq: int, type_: str, actor: str, at: str, data: str) -> Event:
    at_ = datetime.fromisoformat(at)
    return Event(seq=seq, type=type_, actor=actor, at=at_, data=json.loads(data))
