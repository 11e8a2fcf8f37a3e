"""Nothing stale, as an invariant: after any step of a course day (a move, a lock, groups formed
again, a late registration, an erasure, every role-play step, help calls, feedback, an
announcement and its withdrawal, a delay, the clock jumping to the next item, chat, private
lines, questions and hands, a quick breakout opened and closed, the director dropping in and
leaving), every open page shows exactly what a fresh load of that page would show.

Random steps are driven as the people themselves would send them, against one server, with the
pages of every role open in Chromium; after each step each page's live `<main>` is compared with
the same page fetched afresh for the same person (both normalised for what the browser itself
writes: countdowns, local times, "You" for the reader). A page that still differs after a few
seconds is stale, and the test names the step and shows where it differs. Also: the move scenario
of a live move during a running turn, on its own."""

from __future__ import annotations

import json
import os
import random
import re
from datetime import timedelta

import pytest

from server.content.cases import load_library
from server.content.course import load_course
from server.domain.agenda import Kind, build_schedule
from tests.chromium import course_from, wait_true

pytestmark = pytest.mark.browser

DAY2 = build_schedule(load_course()).day_items(2)
PRACTICE = next(s for s in DAY2 if s.item.kind is Kind.PRACTICE)
CASES = load_library()
STEPS = int(os.environ.get("COMPANION_STALE_STEPS", "80"))
SEED = int(os.environ.get("COMPANION_STALE_SEED", "20261201"))

# The page's <main> and the same page fetched afresh, each normalised for what the browser
# writes itself (live.js: countdowns, elapsed clocks, local times, "You" for the reader,
# dismissed announcements, what is hidden from the hot seat, restored drafts; htmx: its own classes and the oob marker).
COMPARE = """async () => {
  const norm = root => {
    const c = root.cloneNode(true);
    c.querySelectorAll('.local-time').forEach(e => e.remove());
    c.querySelectorAll('.durable-status').forEach(e => { e.className = 'durable-status'; });
    c.querySelectorAll('[data-until], [data-elapsed-since], [data-you-if], .durable-status, .flash')
      .forEach(e => { e.textContent = ''; });
    c.querySelectorAll('[data-talk-seqs], #talk-unread')  // unread counts: the browser's own
      .forEach(e => { e.textContent = ''; e.removeAttribute('hidden'); });
    c.querySelectorAll('*').forEach(e => {
      for (const a of ['hx-swap-oob', 'data-localized', 'data-restored', 'data-htmx-powered']) e.removeAttribute(a);
      if (e.hasAttribute('data-announcement') || e.hasAttribute('data-hide-if')) e.removeAttribute('hidden');
      for (const k of [...e.classList]) if (k.startsWith('htmx-')) e.classList.remove(k);
      if (e.getAttribute('class') === '') e.removeAttribute('class');
    });
    return c.innerHTML.replace(/\\s+/g, ' ').replace(/> </g, '><').trim();
  };
  const r = await fetch(location.pathname, {credentials: 'same-origin', cache: 'no-store'});
  const fresh = new DOMParser().parseFromString(await r.text(), 'text/html');
  return [norm(document.querySelector('main')), norm(fresh.querySelector('main'))];
}"""

GROUPS = """[...document.querySelectorAll('.tile')].map(t => ({
  name: t.getAttribute('aria-label'),
  members: [...t.querySelectorAll('.tile-members button')].map(b =>
    b.getAttribute('hx-post').split('/').pop()),
}))"""


def differs(page) -> str | None:
    """None if the page shows what a fresh load shows; else where they part."""
    live, fresh = page.evaluate(COMPARE)
    if live == fresh:
        return None
    i = next((k for k, (a, b) in enumerate(zip(live, fresh, strict=False)) if a != b), None)
    i = min(len(live), len(fresh)) if i is None else i
    return f"live: …{live[max(0, i - 160) : i + 200]}…\nfresh: …{fresh[max(0, i - 160) : i + 200]}…"


def settled(pages: dict, step: str, timeout: float = 6.0) -> None:
    """Every page matches a fresh load within `timeout` s (pushes may still be on their way)."""
    for who, page in pages.items():
        deadline = page.evaluate("Date.now()") + timeout * 1000
        while (diff := differs(page)) is not None:
            if page.evaluate("Date.now()") > deadline:
                raise AssertionError(f"{who}'s page is stale after {step}:\n{diff}")
            page.wait_for_timeout(150)


class Course:
    """The people and the server, as the test drives them."""

    def __init__(self, url, people, director):
        self.url, self.people, self.director = url, people, director
        self.by_id = {p["id"]: p for p in people}
        self.people_by_name = {p["name"]: p for p in people}
        self.sent: dict[str, int] = {}
        self.accepted: dict[str, int] = {}

    def post(self, page, path: str, form: dict | None = None, kind: str = "", **kw) -> bool:
        body = kw if kw else {"form": form or {}}
        r = page.context.request.post(self.url + path, **body)
        kind = kind or path.split("/")[-1]
        self.sent[kind] = self.sent.get(kind, 0) + 1
        ok = r.ok and "flash-error" not in r.text()
        if ok:
            self.accepted[kind] = self.accepted.get(kind, 0) + 1
        return ok

    def form_groups(self, seed: int) -> None:
        """The director forms the groups (of 6 to 8, teams together) and sees the tiles."""
        form = {"seed": str(seed), "min_size": "6", "max_size": "8", "teams": "together"}
        assert self.post(self.director, "/director/groups/assign", form, "assign")
        self.director.wait_for_selector(".tile")

    def groups(self) -> list[dict]:
        return self.director.evaluate(GROUPS)


def open_roles(course: Course, open_page, rng: random.Random) -> dict:
    """Pages for the director, two groups' facilitators, an SP and four learners."""
    groups = course.groups()
    adult = [g for g in groups if g["name"].startswith("Adult")]
    peds = [g for g in groups if g["name"].startswith("Pediatric")] or adult
    a, b = rng.choice(adult), rng.choice(peds)
    names = course.people_by_name
    director = next(p["name"] for p in course.people if p["role"] == "director")
    pages = {director: course.director}
    for g in (a, b):
        tile = course.director.inner_text(f".tile[aria-label='{g['name']}'] .pmeta")
        fac = tile.split(" · SP ")[0].strip()
        if fac in names and names[fac]["name"] not in pages:
            pages[fac] = open_page(names[fac], 1280, 800)
    sp = course.director.inner_text(f".tile[aria-label='{a['name']}'] .pmeta").split(" · SP ")[1]
    sp = sp.split(",")[0].strip()
    if sp in names:
        pages[sp] = open_page(names[sp], 1280, 800)
    chosen = a["members"][:2] + b["members"][:1] + [rng.choice(adult[-1]["members"])]
    for pid in dict.fromkeys(chosen):
        pages[course.by_id[pid]["name"]] = open_page(course.by_id[pid], 1280, 800)
    return pages


ANY = ["start", "begin", "tagin", "timeout", "timein", "rewind", "intensity", "cue", "end-turn",
       "end", "release", "claim", "resolve"]  # fmt: skip
VALID = {
    "briefing": ["begin", "begin", "begin", "intensity", "end"],
    "running": ["timeout", "tagin", "rewind", "intensity", "cue", "end-turn", "end-turn"],
    "timeout": ["timein", "timein", "rewind", "end-turn"],
    "debrief": ["begin", "begin", "begin", "release", "release", "end", "claim", "resolve"],
}


def step(course: Course, pages: dict, rng: random.Random, n: int) -> str:
    """One random thing someone does; a description of it."""
    people = {who: course.people_by_name[who] for who in pages}
    director = course.director
    learners = [p for p in course.people if p["role"] == "learner" and not p.get("erased")]
    groups = course.groups()
    roll = rng.random()
    if roll < 0.035:
        lead = rng.choice([None, None, "10"])
        course.post(director, "/director/clock/next", {"lead": lead} if lead else {}, "jump")
        return f"the clock jumps to the next item{' (10 s before)' if lead else ''}"
    if roll < 0.16 and groups:
        p, g = rng.choice(learners), rng.choice(groups)
        course.post(director, "/director/groups/move", {"person": p["id"], "group": g["name"]})
        return f"the director moves {p['name']} to {g['name']}"
    if roll < 0.19:
        p = rng.choice(learners)
        lock = {"locked": rng.choice("01")}
        course.post(director, f"/director/groups/lock/{p['id']}", lock, "lock")
        return f"the director locks or unlocks {p['name']}"
    if roll < 0.197:
        seed = str(rng.randrange(100))
        form = {"seed": seed, "min_size": "4", "max_size": "8", "teams": "together"}
        course.post(director, "/director/groups/assign", form, "form groups")
        return f"the director forms the groups again (seed {seed})"
    if roll < 0.2:
        course.post(director, "/director/groups/rebalance", kind="rebalance")
        return "the director rebalances after no-shows"
    if roll < 0.235:
        i = n
        csv = "name,email,role,discipline,track\n" + "".join(
            f"Late Learner {i}{k},late{i}{k}@example.org,learner,nurse,{t}\n"
            for k, t in enumerate(["adult", "pediatric"])
        )
        files = {"roster": {"name": "late.csv", "mimeType": "text/csv", "buffer": csv.encode()}}
        course.post(director, "/director/roster", kind="late join", multipart=files)
        return "two people register late"
    if roll < 0.245:
        spare = [p for p in learners if p["name"] not in pages]
        if spare:
            p = rng.choice(spare)
            path = f"/director/people/{p['id']}/erase"
            if course.post(director, path, {"confirm": p["email"]}, "erase"):
                p["erased"] = True
            return f"the director erases {p['name']}'s data"
    if roll < 0.28:
        text = f"Note {n}: room change at the next break"
        form = {"text": text, "track": rng.choice(["", "adult", "pediatric"])}
        course.post(director, "/director/announce", form, "announce")
        return "the director sends an announcement"
    if roll < 0.30:
        seqs = re.findall(r"/director/announcements/(\d+)/withdraw", director.content())
        if seqs:
            course.post(director, f"/director/announcements/{rng.choice(seqs)}/withdraw")
            return "the director withdraws an announcement"
    if roll < 0.31:
        course.post(director, "/director/delay", {"minutes": str(rng.randint(1, 3))}, "delay")
        return "the director delays the running item"
    if roll < 0.32:
        if rng.random() < 0.5:
            form = {"minutes": str(rng.randint(1, 20))}
            course.post(director, "/director/breakout", form, "breakout")
            return "the director opens the small groups for a few minutes"
        course.post(director, "/director/breakout/close", kind="breakout close")
        return "the director closes the small groups"
    if roll < 0.335 and groups:
        if rng.random() < 0.6:
            g = rng.choice(groups)
            course.post(director, "/visit", {"room": f"group:{g['name']}"}, "drop in")
            return f"the director drops in on {g['name']}"
        course.post(director, "/visit/leave", kind="leave visit")
        return "the director leaves the room they visit"
    staff = [w for w, p in people.items() if p["role"] == "facilitator"]
    sps = [w for w, p in people.items() if p["role"] == "sp"]
    mine = [w for w, p in people.items() if p["role"] == "learner"]
    if roll < 0.70 and staff:
        who = rng.choice(staff)
        page = pages[who]
        html = page.content()
        rooms = sorted(set(re.findall(r'hx-post="/rp/([^/"]+)/', html)))
        if not rooms:
            return f"{who} has no role-play to run"
        room = rng.choice(rooms)
        group = re.sub(r"%20", " ", room)
        members = next((g["members"] for g in groups if g["name"] == group), [])
        # Mostly what the scene's phase allows (as a facilitator would), sometimes anything.
        phase = re.search(r'id="rp-[^"]*".*?rp-phase-(\w+)', html, re.S)
        likely = VALID.get(phase.group(1) if phase else "idle", ["start"])
        if "/rp/" in html and 'name="scenario"' in html:
            likely = ["start"]
        action = rng.choice(likely if rng.random() < 0.8 else ANY)
        case = rng.choice(
            [c for c in CASES.values() if c.track in group.lower()] or list(CASES.values())
        )
        form: dict = {}
        if action == "start":
            form = {"scenario": case.id}
        elif action in ("begin", "tagin") and members:
            form = {"learner": rng.choice(members), "goal": f"goal {n}"}
        elif action == "rewind":
            form = {"beat": rng.choice(case.beats).id}
        elif action == "intensity":
            form = {"level": str(rng.randint(1, 3))}
        elif action == "cue":
            form = {"text": f"cue {n}"}
        if action == "release":
            turns = re.findall(r'hx-post="(/fb/[^"]+/release)"', html)
            if turns:
                course.post(page, rng.choice(turns), kind="release")
            return f"{who} releases feedback"
        if action in ("claim", "resolve"):
            ids = re.findall(rf'hx-post="/help/(\d+)/{action}"', html)
            if ids:
                course.post(page, f"/help/{rng.choice(ids)}/{action}", kind=f"help {action}")
            return f"{who} {action}s a help call"
        course.post(page, f"/rp/{room}/{action}", form, action)
        return f"{who}: {action} {form} in {group}"
    if roll < 0.78 and sps:
        who = rng.choice(sps)
        rooms = sorted(set(re.findall(r'hx-post="/rp/([^/"]+)/', pages[who].content())))
        if rooms:
            beat = rng.choice([b.id for c in CASES.values() for b in c.beats])
            course.post(pages[who], f"/rp/{rng.choice(rooms)}/beat", {"beat": beat}, "beat")
        return f"{who} moves to another beat"
    if mine:
        who = rng.choice(mine)
        page = pages[who]
        forms = page.locator("form.fb-form:visible")  # (a folded self-rating is not in reach)
        if roll < 0.86 and forms.count():
            form = forms.first
            for fs in form.locator("fieldset.fb-q").all():
                radios = fs.locator("input[type=radio]")
                if radios.count():
                    radios.nth(rng.randrange(radios.count())).check()
            form.locator("button[type=submit]").click()
            page.wait_for_timeout(300)
            course.sent["feedback"] = course.sent.get("feedback", 0) + 1
            return f"{who} sends feedback"
        if roll < 0.885:
            form = {"text": f"chat {n} <i>from</i> {who}", "sid": f"walk-chat-{n:06d}"}
            form["kind"] = rng.choice(["chat", "chat", "private", "question"])
            course.post(page, "/talk", form, "chat")
            return f"{who} says something in their room ({form['kind']})"
        if roll < 0.895:
            course.post(page, "/talk/hand", kind="hand")
            return f"{who} raises or lowers their hand"
        if roll < 0.92:
            course.post(page, "/help", {"note": f"help {n}"}, "help")
            return f"{who} calls for help"
        own = re.findall(r'hx-post="(/rp/[^"]+/timeout)"', page.content())
        course.post(page, own[0] if own else "/rp/Nowhere/timeout", kind="learner timeout")
        return f"{who} calls a time-out"
    return "nothing"


def test_after_every_random_step_every_open_page_shows_what_a_fresh_load_would(
    browser, tmp_path, figure
):
    rng = random.Random(SEED)
    start = PRACTICE.start - timedelta(minutes=20)
    with course_from(browser, tmp_path, start) as (url, people, open_page, errors):
        director_p = next(p for p in people if p["role"] == "director")
        director = open_page(director_p, 1280, 800)
        course = Course(url, people, director)
        course.form_groups(seed=1)
        pages = open_roles(course, open_page, rng)
        course.post(director, "/director/clock/next", kind="jump")  # into the practice block
        settled(pages, "the start")
        log: list[str] = []
        for n in range(STEPS):
            what = step(course, pages, rng, n)
            log.append(what)
            try:
                settled(pages, f"step {n} ({what})")
            except AssertionError as e:
                raise AssertionError(f"{e}\nseed {SEED}; the last steps: {log[-8:]}") from None
        figure("steps", STEPS)
        figure("pages", len(pages))
        figure("commands sent", sum(course.sent.values()))
        figure("commands accepted", course.accepted)
        print("sent", course.sent, "accepted", course.accepted)

        # The walk did real things: moves, jumps, role-play steps, feedback and help were taken
        # (at least so many per 200 steps, in proportion to the walk's length).
        def at_least(per_200: int) -> int:
            return max(1, per_200 * STEPS // 200)

        assert course.accepted.get("move", 0) >= at_least(5), course.accepted
        assert course.accepted.get("jump", 0) >= at_least(3), course.accepted
        rp = sum(course.accepted.get(k, 0) for k in ("start", "begin", "timeout", "end-turn"))
        assert rp >= at_least(10), (course.accepted, course.sent)
        assert course.sent.get("feedback", 0) >= 1
        assert course.accepted.get("help", 0) >= at_least(3)
        assert errors == []


def test_a_learner_moved_during_a_running_turn_has_only_her_new_groups_panels(browser, tmp_path):
    """The move of issue 22: a learner moved from one group to another during practice gets the
    new group's role-play and feedback panels at once, sends feedback to the new group, and when
    put in its hot seat reads that she is."""
    with course_from(browser, tmp_path, PRACTICE.start + timedelta(minutes=1)) as (
        url,
        people,
        open_page,
        errors,
    ):
        director = open_page(next(p for p in people if p["role"] == "director"), 1280, 800)
        course = Course(url, people, director)
        course.form_groups(seed=2)
        first, second = course.groups()[:2]
        names = course.people_by_name

        def facilitator(g):
            tile = director.inner_text(f".tile[aria-label='{g['name']}'] .pmeta")
            return open_page(names[tile.split(" · SP ")[0].strip()], 1280, 800)

        fac1, fac2 = facilitator(first), facilitator(second)
        her = course.by_id[first["members"][0]]
        page = open_page(her, 1280, 800)
        for fac, g in ((fac1, first), (fac2, second)):
            case = next(c for c in CASES.values() if c.track in g["name"].lower())
            assert course.post(fac, f"/rp/{g['name']}/start", {"scenario": case.id})
            hot = next(m for m in g["members"] if m != her["id"])
            assert course.post(fac, f"/rp/{g['name']}/begin", {"learner": hot, "goal": "Pause"})
        has = "document.querySelector('main').textContent.includes({})".format
        wait_true(page, has(json.dumps(f"Role-play · {first['name']}")))
        assert page.locator("form.fb-form").count() == 1

        assert course.post(
            director, "/director/groups/move", {"person": her["id"], "group": second["name"]}
        )
        wait_true(page, has(json.dumps(f"Role-play · {second['name']}")))
        text = page.text_content("main")
        assert first["name"] not in text.replace(f"Small group {second['name']}", ""), text
        assert f"Feedback · {second['name']}" in text
        settled({her["name"]: page}, "the move")
        # Her feedback goes to the new group's turn.
        form = page.locator("form.fb-form").first
        assert (form.get_attribute("action") or "").startswith(
            "/fb/" + second["name"].replace(" ", "%20") + "/"
        )
        # Put in the new group's hot seat, her page says so.
        assert course.post(fac2, f"/rp/{second['name']}/end-turn")
        assert course.post(
            fac2, f"/rp/{second['name']}/begin", {"learner": her["id"], "goal": "Name it"}
        )
        wait_true(page, has(json.dumps("You are in the hot seat")))
        assert page.locator("form[hx-post$='/tagin']").is_hidden()  # not for the one in it
        settled({her["name"]: page, "facilitator": fac2}, "her turn")
        assert errors == []
