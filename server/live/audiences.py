"""Audiences: which live partials each viewer's page follows, and how each audience renders.

An audience is a key shared by every viewer who sees the same bytes. What a role may not see
is never part of its audiences, so it is never rendered into its socket: the information
barrier lives here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from server.domain.events import Event
from server.domain.roles import Actor, Role
from server.domain.rooms import RoomsState, learner_track
from server.live.views.feedback import FB, TALLY, build_feedback_panel, build_tally
from server.live.views.roleplay import build_roleplay_view
from server.live.views.rooms import (
    HELP,
    NEWS,
    PLACE,
    ROOM,
    ROOMS,
    RP,
    build_help,
    build_room,
    build_rooms,
    build_where,
    place_key,
)

if TYPE_CHECKING:
    from server.service.course import CourseService

AGENDA = "agenda"
DIRECTOR = "director"
PRESENCE = "presence:"  # + adult, pediatric or all
# The audiences whose views change as time passes (the others change only with events): the
# only ones re-rendered at an agenda boundary or when a rehearsal clock moves.
TIMED = (AGENDA, PLACE, RP)
# Partials of the agenda audience, one template each; their root ids are stable.
AGENDA_PARTIALS = ("_status.html", "_now.html", "_next.html")

# One template per role's view of a role-play; only the SP and facilitator ones hold the script.
ROLEPLAY_TEMPLATES = {
    "learner": "_rp_learner.html",
    "sp": "_rp_sp.html",
    "facilitator": "_rp_facilitator.html",
}

# Which audiences an event can change, by the event type's prefix.
_TOUCHES = {
    "agenda.": (AGENDA, PLACE, ROOMS),
    "announcement.": (NEWS,),
    "person.": (PRESENCE, DIRECTOR, ROOM, ROOMS, PLACE),
    "link.": (PRESENCE, DIRECTOR, ROOM, ROOMS),
    "presence.": (PRESENCE, DIRECTOR, ROOM, ROOMS, RP, PLACE),
    "evaluation.": (DIRECTOR,),
    "credit.": (DIRECTOR,),
    "groups.": (PLACE, ROOM, ROOMS, RP, FB, TALLY),
    "member.": (PLACE, ROOM, ROOMS, RP, FB, TALLY),
    "track.": (PLACE, ROOM, ROOMS, RP, FB, TALLY),
    "help.": (HELP, ROOM, ROOMS),
    "roleplay.": (RP, ROOMS),
    "turn.": (RP, ROOMS),
    "scene.": (RP, ROOMS),
    "beat.": (RP,),
    "intensity.": (RP,),
    "cue.": (RP,),
    "recording.": (RP,),
    "consent.": (RP,),
}
# Events after which a person's sockets may need other audiences.
REROUTING = ("groups.assigned", "member.", "track.chosen", "person.updated")


def touched(event_type: str) -> tuple[str, ...]:
    for prefix, audiences in _TOUCHES.items():
        if event_type.startswith(prefix):
            return audiences
    return ()


PRESENCE_OF_ONE = ("presence.joined", "presence.left")
# The views that show who is online are re-rendered for pages opening and closing at most this
# often: at the start of a day hundreds of pages open within seconds, and the staff lists of
# everyone would otherwise be rendered once per page.
PRESENCE_EVERY = 0.5  # seconds


def touched_by(e: Event, rooms: RoomsState | None = None) -> tuple[str, ...]:
    """The audience keys (or key prefixes) an event can change: the static ones by type; for
    feedback the one group's panels and tallies, or only the author's own panel; for one
    person's page opening or closing, the lists that show them (with `rooms`, only their own
    groups' views: at the start of a day hundreds of pages open within seconds)."""
    static = touched(e.type)
    if e.type in PRESENCE_OF_ONE and rooms is not None:
        pid = str(e.data.get("person"))
        mine = [g.name for g in rooms.staff_groups(pid)]
        if pid in rooms.member_of:
            mine.append(rooms.member_of[pid])
        return (
            PRESENCE,
            DIRECTOR,
            ROOMS,
            *(f"{ROOM}{g}" for g in mine),
            *(f"{RP}{g}:" for g in mine),
            *(f"{PLACE}group:{g}" for g in mine),
        )
    group = e.data.get("group") if isinstance(e.data.get("group"), str) else None
    if group is None:
        return static
    if e.type == "feedback.submitted":
        return (f"{FB}{group}:{e.actor}", f"{TALLY}{group}")
    if e.type.startswith(("feedback.", "nexttime.", "turn.", "roleplay.")):
        return (*static, f"{FB}{group}:", f"{TALLY}{group}")
    return static


def staff_track(service: CourseService, pid: str) -> str:
    p = service.state.people.get(pid)
    track = p.reg.track.value if p else "all"
    return "all" if track == "both" else track


def audiences_for(service: CourseService, actor: Actor | None) -> list[str]:
    """The audiences of a viewer's page, by role."""
    if actor is None:
        return [AGENDA, NEWS + "all"]
    state = service.state
    if actor.role is Role.DIRECTOR:
        return [AGENDA, NEWS + "director", DIRECTOR, ROOMS, HELP + "all"]
    if actor.role is Role.FACILITATOR:
        track = staff_track(service, actor.id)
        groups = state.rooms.staff_groups(actor.id)
        rooms = [ROOM + g.name for g in groups] + [f"{RP}{g.name}:facilitator" for g in groups]
        rooms += [f"{FB}{g.name}:{actor.id}" for g in groups] + [TALLY + g.name for g in groups]
        help_list = f"{HELP}{track}:{actor.id}"  # Done and Release only on the claimer's
        return [AGENDA, NEWS + track, PRESENCE + track, help_list, *rooms]
    p = state.people.get(actor.id)
    if actor.role is Role.SP:
        groups = state.rooms.staff_groups(actor.id)
        rooms = [ROOM + g.name for g in groups] + [f"{RP}{g.name}:sp" for g in groups]
        rooms += [f"{FB}{g.name}:{actor.id}" for g in groups]
        return [AGENDA, NEWS + staff_track(service, actor.id), *rooms]
    track = learner_track(state.rooms, p) if p else "all"
    own = [AGENDA, NEWS + track, place_key(state, actor.id)]
    group = state.rooms.group_of(actor.id)
    if group is not None:
        own.append(f"{RP}{group.name}:learner")
        own.append(f"{FB}{group.name}:{actor.id}")
    return own


INSIDE = "/"  # a partial keyed `frame/name` sits inside the partial keyed `frame`


class Frame(str):
    """A partial that holds others (keyed `frame/name`). It compares as its own markup, with a
    placeholder for each partial inside, and is sent `whole`, with them: a page swaps every
    partial of a message into the elements it had before the message (htmx finds each target
    first), so a frame and a partial inside it are never sent together."""

    whole: str

    def __new__(cls, markup: str, whole: str) -> Frame:
        frame = super().__new__(cls, markup)
        frame.whole = whole
        return frame


def changed(old: dict[str, str], fresh: dict[str, str]) -> str:
    """The partials of `fresh` that differ from `old`, joined in order: a frame that changed is
    sent whole, and the partials inside it are then not sent on their own."""
    out: list[str] = []
    resent: set[str] = set()
    for key, html in fresh.items():
        frame, inside, _ = key.partition(INSIDE)
        if not inside:
            if old.get(key) != html:
                out.append(html.whole if isinstance(html, Frame) else html)
                resent.add(key)
        elif frame not in resent and old.get(key) != html:
            out.append(html)
    return "".join(out)


def whole(rendered: dict[str, str]) -> str:
    """Every partial of an audience, for a page that has none of them yet (a snapshot)."""
    return changed({}, rendered)


def render_audience(service: CourseService, audience: str, oob: bool = True) -> dict[str, str]:
    """Each partial of `audience`, rendered once, keyed by template."""
    r = service.renderer.render
    state = service.state
    if audience == AGENDA:
        v = service.agenda_view()
        out = {t: r(t, v=v, oob=oob, store_ok=service.store_ok) for t in AGENDA_PARTIALS}
        if oob:
            # Each day's frame and each of its items are pushed on their own: at a boundary only
            # the items that changed go out (an item is a partial inside its day, see `changed`).
            for day in v.days:
                key = f"_day.html#{day.number}"
                out[key] = Frame(
                    r("_day.html", v=v, day=day, oob=True, whole=False),
                    r("_day.html", v=v, day=day, oob=True, whole=True),
                )
                for row in day.rows:
                    out[f"{key}{INSIDE}{row.s.id}"] = r("_agenda_item.html", v=v, r=row, oob=True)
        else:
            out["_schedule.html"] = r("_schedule.html", v=v, oob=False)
        return out
    if audience.startswith(NEWS):
        who = audience.removeprefix(NEWS)
        v = service.agenda_view()
        shown = tuple(
            a
            for a in reversed(state.announcements)
            if who == "director" or a.track is None or a.track == who
        )[:5]
        return {
            "_announcements.html": r(
                "_announcements.html", v=replace(v, announcements=shown), oob=oob
            )
        }
    if audience.startswith(PRESENCE):
        pv = service.people_view(audience.removeprefix(PRESENCE))
        return {"_presence.html": r("_presence.html", pv=pv, oob=oob)}
    if audience == DIRECTOR:
        return {"_people.html": r("_people.html", pv=service.people_view(), oob=oob)}
    if audience.startswith(PLACE):
        w = build_where(state, service.schedule, audience, service.view_time())
        if not oob:
            return {"_where.html": r("_where.html", w=w, oob=False)}
        # The frame, then its parts each on its own (see `changed`).
        parts: dict[str, str] = {
            "_where.html": Frame(
                r("_where.html", w=w, oob=True, whole=False),
                r("_where.html", w=w, oob=True, whole=True),
            ),
            f"_where.html{INSIDE}now": r("_where_now.html", w=w, oob=True),
        }
        if w.group:
            parts[f"_where.html{INSIDE}group"] = r("_group_card.html", w=w, oob=True)
        return parts
    if audience.startswith(ROOM):
        room = build_room(state, audience.removeprefix(ROOM))
        return {"_room.html": r("_room.html", room=room, oob=oob)} if room else {}
    if audience == ROOMS:
        learners = state.people.of_role(Role.LEARNER)
        return {
            "_rooms.html": r(
                "_rooms.html", rooms=build_rooms(state), learners=learners, state=state, oob=oob
            )
        }
    if audience.startswith(RP):
        group, _, role = audience.removeprefix(RP).rpartition(":")
        view = build_roleplay_view(
            state, service.library, group, role, service.view_time(), service.schedule
        )
        if view is None:
            return {}
        return {ROLEPLAY_TEMPLATES[role]: r(ROLEPLAY_TEMPLATES[role], r=view, oob=oob)}
    if audience.startswith(FB):
        group, _, pid = audience.removeprefix(FB).rpartition(":")
        panel = build_feedback_panel(state, service.library, service.instruments, group, pid)
        return {"_fb_panel.html": r("_fb_panel.html", f=panel, oob=oob)} if panel else {}
    if audience.startswith(TALLY):
        tally = build_tally(
            state, service.library, service.instruments, audience.removeprefix(TALLY)
        )
        return {"_fb_tally.html": r("_fb_tally.html", t=tally, oob=oob)} if tally else {}
    if audience.startswith(HELP):
        track, _, viewer = audience.removeprefix(HELP).partition(":")
        hv = build_help(state, track, viewer or None)
        return {"_help.html": r("_help.html", hv=hv, oob=oob)}
    return {}
