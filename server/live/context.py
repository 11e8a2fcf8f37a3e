"""What rendering a live view needs, and nothing more: the state, the schedule, the content,
the templates and the instant the views are for. Audiences and view builders take this, not the
service that owns the writer and the sockets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from server.content.cases import Scenario
from server.content.instruments import Instrument
from server.domain.agenda import Schedule
from server.domain.course_state import CourseState
from server.live.render import Renderer
from server.live.views.agenda import AgendaView, build_agenda_view
from server.live.views.people import PeopleView, build_people_view


@dataclass(frozen=True)
class ViewContext:
    state: CourseState
    base: Schedule  # as planned
    schedule: Schedule  # with the log's delays
    now: datetime  # the instant the views are rendered for (a boundary being prepared, or now)
    library: Mapping[str, Scenario]
    instruments: Mapping[str, Instrument]
    renderer: Renderer
    store_ok: bool = True  # False while the log cannot be reached: pages say so

    def agenda_view(self) -> AgendaView:
        return build_agenda_view(self.base, self.schedule, self.state, self.now)

    def people_view(self, track: str = "all") -> PeopleView:
        return build_people_view(self.state.people, track, self.state.mail)
