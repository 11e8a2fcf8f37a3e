"""Audiences: which live partials each viewer's page follows, which an event changes, and how
each audience renders.

An audience is a key (server/live/keys.py) shared by every viewer who sees the same bytes. What
a role may not see is never part of its audiences, so it is never rendered into its socket; and
what each role's view holds is drawn by its view type (server/live/views/roleplay.py).
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.announcements import showing
from server.domain.course_state import CourseState
from server.domain.events import Event
from server.domain.media import rooms_for_links
from server.domain.roles import Actor, Role
from server.domain.rooms import RoomsState, learner_track
from server.live import keys
from server.live.context import ViewContext
from server.live.frames import INSIDE, Frame
from server.live.views.feedback import LEARNER_FB, build_feedback_panel, build_tally
from server.live.views.roleplay import LEARNER_RP, build_roleplay_view
from server.live.views.rooms import (
    build_help,
    build_inbox,
    build_room,
    build_rooms,
    build_talk,
    build_visit,
    build_where,
)

# Partials of the agenda audience, one template each; their root ids are stable.
AGENDA_PARTIALS = ("live/status.html", "live/now.html", "live/next.html")

# One template per role's view of a role-play; only the SP and facilitator ones hold the script.
ROLEPLAY_TEMPLATES = {
    "learner": "live/rp_learner.html",
    "sp": "live/rp_sp.html",
    "facilitator": "live/rp_facilitator.html",
}

K = keys
# Which audiences an event can change, by the event type's prefix.
_TOUCHES = {
    "agenda.": (K.AGENDA, K.PLACE, K.ROOMS, K.ROOM, K.RP, K.FB, K.TALLY, K.VISIT, K.TALK),
    # (times and slots move; the quick breakout's limit is the item's end)
    "announcement.": (K.NEWS,),
    "person.": (K.PRESENCE, K.DIRECTOR, K.ROOM, K.ROOMS, K.PLACE),
    "link.": (K.PRESENCE, K.DIRECTOR, K.ROOM, K.ROOMS),
    "presence.": (K.PRESENCE, K.DIRECTOR, K.ROOM, K.ROOMS, K.RP, K.PLACE),
    "evaluation.": (K.DIRECTOR,),
    "credit.": (K.DIRECTOR,),
    "mail.": (K.DIRECTOR,),
    "groups.": (K.PLACE, K.ROOM, K.ROOMS, K.RP, K.FB, K.TALLY, K.VISIT),
    "member.": (K.PLACE, K.ROOM, K.ROOMS, K.RP, K.FB, K.TALLY),
    "track.": (K.PLACE, K.ROOM, K.ROOMS, K.RP, K.FB, K.TALLY),
    "help.": (K.HELP, K.ROOM, K.ROOMS),
    "breakout.": (K.AGENDA, K.PLACE, K.ROOM, K.ROOMS, K.RP, K.FB, K.TALLY, K.VISIT, K.TALK),
    "visit.": (K.PLACE, K.ROOM, K.ROOMS, K.VISIT, K.TALK),
    "hand.": (K.TALK, K.ROOM, K.ROOMS),
    "question.": (K.TALK,),
    "room.link_set": (K.ROOMS,),
    "room.hosted": (),
    "roleplay.": (K.RP, K.ROOMS),
    "turn.": (K.RP, K.ROOMS),
    "scene.": (K.RP, K.ROOMS),
    "beat.": (K.RP,),
    "intensity.": (K.RP,),
    "cue.": (K.RP,),
    "recording.": (K.RP,),
    "consent.": (K.RP,),
}
# Events after which a person's sockets may need other audiences.
REROUTING = ("groups.assigned", "member.", "track.chosen", "person.updated", "visit.")
PRESENCE_OF_ONE = ("presence.joined", "presence.left")
# The views that show who is online are re-rendered for pages opening and closing at most this
# often: at the start of a day hundreds of pages open within seconds, and the staff lists of
# everyone would otherwise be rendered once per page.
PRESENCE_EVERY = 0.5  # seconds


def touched(event_type: str) -> tuple[str, ...]:
    for prefix, audiences in _TOUCHES.items():
        if event_type.startswith(prefix):
            return audiences
    return ()


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
            K.PRESENCE,
            K.DIRECTOR,
            K.ROOMS,
            *(K.room(g) for g in mine),
            *(K.roleplay_of_group(g) for g in mine),
            *(K.place(f"group:{g}") for g in mine),
        )
    if e.type == "chat.sent":
        to = e.data.get("to")
        if to:  # a private line: its author's and its recipients' lines only
            return tuple(K.inbox(str(p)) for p in {e.actor, *to})
        return (K.TALK, K.ROOMS)
    if e.type.startswith("help."):
        caller = e.data.get("person")  # (older answers named only the call: every caller's)
        return (*static, K.me(str(caller)) if caller else K.ME)
    group = e.data.get("group") if isinstance(e.data.get("group"), str) else None
    if group is None:
        return static
    if e.type == "feedback.submitted":
        # the author's own form, the tally, and the turn's learner (whose panel counts the
        # forms in, and once released shows them)
        learner = str(e.data.get("learner") or e.actor)
        return (K.feedback(group, e.actor), K.feedback(group, learner), K.tally(group))
    if e.type.startswith(("feedback.", "nexttime.", "turn.", "roleplay.")):
        return (*static, K.feedback_of_group(group), K.tally(group))
    return static


def staff_track(state: CourseState, pid: str) -> str:
    p = state.people.get(pid)
    track = p.reg.track.value if p else "all"
    return "all" if track == "both" else track


def place_key(state: CourseState, pid: str) -> str:
    """The audience a learner's "where to be" follows: their group if they have one, else their
    track. Everyone in a group shares a track, so the group's key decides every item."""
    g = state.rooms.group_of(pid)
    if g is not None:
        return K.place(f"group:{g.name}")
    p = state.people.get(pid)
    track = learner_track(state.rooms, p) if p else "adult"
    return K.place(f"track:{track}")


def audiences_for(state: CourseState, actor: Actor | None) -> list[str]:
    """The audiences of a viewer's page, by role."""
    if actor is None:
        return [K.AGENDA, K.news("all")]
    talk = [K.talk(f"person:{actor.id}"), K.inbox(actor.id)]
    if actor.role is Role.DIRECTOR:
        own = [K.AGENDA, K.news("director"), K.DIRECTOR, K.ROOMS, K.help_calls("all"), *talk]
        return [*own, K.visit(actor.id), *visiting(state, actor.id, ())]
    if actor.role is Role.FACILITATOR:
        track = staff_track(state, actor.id)
        groups = state.rooms.staff_groups(actor.id)
        extra = visiting(state, actor.id, [g.name for g in groups])
        rooms = [K.visit(actor.id), *extra, *(K.room(g.name) for g in groups)]
        rooms += [K.roleplay(g.name, "facilitator") for g in groups]
        rooms += [K.feedback(g.name, actor.id) for g in groups] + [K.tally(g.name) for g in groups]
        # Done and Release are on the claimer's list only: one list per facilitator.
        help_list = K.help_calls(track, actor.id)
        return [K.AGENDA, K.news(track), K.presence(track), help_list, *talk, *rooms]
    p = state.people.get(actor.id)
    if actor.role is Role.SP:
        groups = state.rooms.staff_groups(actor.id)
        rooms = [K.room(g.name) for g in groups] + [K.roleplay(g.name, "sp") for g in groups]
        rooms += [K.feedback(g.name, actor.id) for g in groups]
        news = K.news(staff_track(state, actor.id))
        return [K.AGENDA, news, K.me(actor.id), *talk, *rooms]
    track = learner_track(state.rooms, p) if p else "all"
    place = place_key(state, actor.id)
    chat = K.talk(place.removeprefix(K.PLACE))
    own = [K.AGENDA, K.news(track), K.me(actor.id), place, chat, K.inbox(actor.id)]
    group = state.rooms.group_of(actor.id)
    if group is not None:
        own.append(K.roleplay(group.name, "learner"))
        own.append(K.feedback(group.name, actor.id))
    return own


def visiting(state: CourseState, pid: str, own: list[str] | tuple[str, ...]) -> list[str]:
    """The panels of a small group that staff member `pid` is visiting (not one of `own`): its
    room card, the facilitator's view of its role-play and its tallies."""
    visit = state.rooms.visits.get(pid)
    if visit is None or not visit[0].startswith("group:"):
        return []
    group = visit[0].removeprefix("group:")
    if group in own or group not in state.rooms.groups:
        return []
    return [K.room(group), K.roleplay(group, "facilitator"), K.tally(group)]


# A learner page's slots: the panels of the group they are in now, by element id, and the kind
# of audience that fills each. A page's snapshot fills every slot: with its audience's partial,
# or (when none applies, say after a move out of every group) with the empty slot itself, so a
# page never keeps a panel its person no longer has.
LEARNER_SLOTS = ((LEARNER_RP, K.RP), (LEARNER_FB, K.FB))


def vacant(audiences: tuple[str, ...]) -> str:
    """The empty slots of a learner page that follows `audiences` (nothing for other pages)."""
    if not any(a.startswith(K.PLACE) for a in audiences):  # only a learner's page has a place
        return ""
    return "".join(
        f'<div id="{slot}" class="slot" hidden hx-swap-oob="true"></div>'
        for slot, kind in LEARNER_SLOTS
        if not any(a.startswith(kind) for a in audiences)
    )


def render_audience(ctx: ViewContext, audience: str, oob: bool = True) -> dict[str, str]:
    """Each partial of `audience`, rendered once, keyed by template."""
    r = ctx.renderer.render
    state = ctx.state
    if audience == K.AGENDA:
        v = ctx.agenda_view()
        out = {t: r(t, v=v, oob=oob, store_ok=ctx.store_ok) for t in AGENDA_PARTIALS}
        if oob:
            # Each day's frame and each of its items are pushed on their own: at a boundary only
            # the items that changed go out (an item is a partial inside its day, see `changed`).
            for day in v.days:
                key = f"live/day.html#{day.number}"
                out[key] = Frame(
                    r("live/day.html", v=v, day=day, oob=True, whole=False),
                    r("live/day.html", v=v, day=day, oob=True, whole=True),
                )
                for row in day.rows:
                    out[f"{key}{INSIDE}{row.s.id}"] = r(
                        "live/agenda_item.html", v=v, r=row, oob=True
                    )
        else:
            out["live/schedule.html"] = r("live/schedule.html", v=v, oob=False)
        return out
    if audience.startswith(K.NEWS):
        who = audience.removeprefix(K.NEWS)
        v = ctx.agenda_view()
        shown = showing(state.announcements, ctx.schedule, ctx.now, who)
        return {
            "live/announcements.html": r(
                "live/announcements.html",
                v=replace(v, announcements=shown),
                director=who == "director",
                oob=oob,
            )
        }
    if audience.startswith(K.PRESENCE):
        pv = ctx.people_view(audience.removeprefix(K.PRESENCE))
        return {"live/presence.html": r("live/presence.html", pv=pv, oob=oob)}
    if audience == K.DIRECTOR:
        return {"live/people.html": r("live/people.html", pv=ctx.people_view(), oob=oob)}
    if audience.startswith(K.PLACE):
        w = build_where(state, ctx.schedule, audience, ctx.now)
        if not oob:
            return {"live/where.html": r("live/where.html", w=w, oob=False)}
        # The frame, then its parts each on its own (see `changed`).
        parts: dict[str, str] = {
            "live/where.html": Frame(
                r("live/where.html", w=w, oob=True, whole=False),
                r("live/where.html", w=w, oob=True, whole=True),
            ),
            f"_where.html{INSIDE}now": r("live/where_now.html", w=w, oob=True),
        }
        if w.group:
            parts[f"_where.html{INSIDE}group"] = r("live/group_card.html", w=w, oob=True)
        return parts
    if audience.startswith(K.ROOM):
        room = build_room(state, audience.removeprefix(K.ROOM))
        return {"live/room.html": r("live/room.html", room=room, oob=oob)} if room else {}
    if audience == K.ROOMS:
        learners = state.people.of_role(Role.LEARNER)
        link_rooms = rooms_for_links(state.rooms)
        labels = dict(link_rooms)
        links = [(k, labels.get(k, k), url) for k, url in sorted(state.media.links.items())]
        return {
            "live/rooms.html": r(
                "live/rooms.html", rooms=build_rooms(state), learners=learners, state=state, oob=oob
            ),
            "live/links.html": r(
                "live/links.html", link_rooms=link_rooms, media_links=links, oob=oob
            ),
        }
    if audience.startswith(K.RP):
        group, role = K.split(audience, K.RP)
        view = build_roleplay_view(state, ctx.library, group, role, ctx.now, ctx.schedule)
        if view is None:
            return {}
        return {ROLEPLAY_TEMPLATES[role]: r(ROLEPLAY_TEMPLATES[role], r=view, oob=oob)}
    if audience.startswith(K.FB):
        group, pid = K.split(audience, K.FB)
        panel = build_feedback_panel(state, ctx.library, ctx.instruments, group, pid)
        return {"live/fb_panel.html": r("live/fb_panel.html", f=panel, oob=oob)} if panel else {}
    if audience.startswith(K.TALLY):
        tally = build_tally(state, ctx.library, ctx.instruments, audience.removeprefix(K.TALLY))
        return {"live/fb_tally.html": r("live/fb_tally.html", t=tally, oob=oob)} if tally else {}
    if audience.startswith(K.TALK):
        tv = build_talk(state, ctx.schedule, audience, ctx.now)
        return {"live/talk.html": r("live/talk.html", t=tv, oob=oob)}
    if audience.startswith(K.INBOX):
        lines = build_inbox(state, audience.removeprefix(K.INBOX))
        return {"live/inbox.html": r("live/inbox.html", lines=lines, oob=oob)}
    if audience.startswith(K.VISIT):
        pid = audience.removeprefix(K.VISIT)
        visit = build_visit(state, ctx.schedule, pid, ctx.now)
        return {"live/visit.html": r("live/visit.html", visit=visit, oob=oob)}
    if audience.startswith(K.ME):
        pid = audience.removeprefix(K.ME)
        call = next((h for h in reversed(state.help.calls) if h.person == pid), None)
        claimer = state.people.get(call.claimed_by) if call and call.claimed_by else None
        return {"live/my_help.html": r("live/my_help.html", call=call, claimer=claimer, oob=oob)}
    if audience.startswith(K.HELP):
        track, _, viewer = audience.removeprefix(K.HELP).partition(":")
        hv = build_help(state, track, viewer or None)
        return {"live/help.html": r("live/help.html", hv=hv, oob=oob)}
    return {}
