"""Jinja2 rendering shared by pages and live pushes: one template per partial, autoescaped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.domain.agenda import utc_z
from server.domain.placement import room_label

WEB = Path(__file__).resolve().parent.parent.parent / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

KIND_LABELS = {
    "plenary": "Plenary",
    "track_session": "Adult & pediatric sessions",
    "small_group": "Small groups",
    "practice": "Role-play practice",
    "break": "Break",
    "lunch": "Lunch",
    "transition": "Transition",
}


def clock_time(instant: datetime, tz: ZoneInfo) -> str:
    """10:00 AM style, in the course's zone."""
    return instant.astimezone(tz).strftime("%-I:%M %p")


def stamp(instant: datetime, tz: ZoneInfo) -> str:
    """Tue 14 May, 4:32 PM style, in the course's zone."""
    return instant.astimezone(tz).strftime("%a %-d %b, %-I:%M %p")


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utcz"] = utc_z
    env.filters["clock"] = clock_time
    env.filters["stamp"] = stamp
    env.filters["kind_label"] = lambda k: KIND_LABELS.get(str(k), str(k))
    env.filters["room_label"] = room_label
    return env


class Renderer:
    def __init__(self) -> None:
        self.env = make_environment()

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)
