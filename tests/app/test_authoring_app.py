"""Cases written in the browser, over HTTP: who may, the live check by field and line, previews as
each role sees the case, publishing versions (a stale one refused, the text kept), a new case from
a template played in a group at its published version, the YAML back, and hostile text."""

import html
import re
from datetime import timedelta

from server.content.cases import ROLEPLAYS
from tests.app.harness import DAY2_PRACTICE, form_groups, make_client, pid, session
from tests.app.harness import GROUP_ROSTER as ROSTER

TEMPLATE = "adult-news-pancreatic-cancer"
NEW = "adult-news-lung-cancer-brother"
DIRECTOR, ADA, LEARNER = "director@example.org", "ada@example.org", "l1@example.org"


def practice(tmp_path):
    seconds = -(DAY2_PRACTICE + timedelta(minutes=1)).total_seconds()
    return make_client(tmp_path, seconds_before_first=seconds, roster_text=ROSTER)


def test_an_author_writes_checks_previews_and_publishes_a_case_that_a_group_then_plays(tmp_path):
    with practice(tmp_path) as c:
        svc = c.app.state.service
        # Only the director, and the case authors they name.
        assert c.get("/author", headers=session(c, LEARNER)).status_code == 403
        assert c.get("/author", headers=session(c, ADA)).status_code == 403
        assert c.get("/author").status_code == 403
        r = c.post("/author/people", data={"person": pid(c, ADA)}, headers=session(c, ADA))
        assert r.status_code == 403
        r = c.post("/author/people", data={"person": pid(c, ADA)}, headers=session(c, DIRECTOR))
        assert r.status_code == 200 and "may now write cases" in r.text
        home = c.get("/author", headers=session(c, ADA))
        assert home.status_code == 200 and f"/author/case/{TEMPLATE}" in home.text
        assert 'href="/author"' in c.get("/", headers=session(c, ADA)).text  # in their menu

        # A new case from a template: the template's text under the new id.
        r = c.get(
            "/author/new",
            params={"kind": "case", "from": TEMPLATE, "id": NEW},
            headers=session(c, ADA),
        )
        assert r.status_code == 200, r.text
        text = re.search(r'<textarea id="author-yaml"[^>]*>(.*?)</textarea>', r.text, re.S)
        assert text is not None
        draft = html.unescape(text.group(1))
        shipped = (ROLEPLAYS / f"{TEMPLATE}.yaml").read_text()
        assert draft == shipped.replace(f"id: {TEMPLATE}\n", f"id: {NEW}\n")
        title = next(line for line in draft.splitlines() if line.startswith("title:"))
        draft = draft.replace(title, 'title: "A brother\'s lung cancer: news by video"')

        # The live check names the field and the line of each problem.
        check = f"/author/case/{NEW}/check"
        level = next(n for n, line in enumerate(draft.splitlines(), 1) if line.startswith("level:"))
        broken = draft.replace("\nlevel: ", "\nlevle: ")
        r = c.post(check, data={"text": broken}, headers=session(c, ADA))
        assert r.status_code == 200
        assert '<strong>levle</strong> <span class="pmeta">(line ' + str(level) + ")" in r.text
        assert "unknown field" in r.text and "<strong>level</strong>" in r.text
        r = c.post(check, data={"text": "id: [unclosed"}, headers=session(c, ADA))
        assert "not valid YAML" in r.text
        ghost = draft.replace("instruments: [spikes]", "instruments: [spikes, no-such-form]")
        r = c.post(check, data={"text": ghost}, headers=session(c, ADA))
        assert "no instrument &#39;no-such-form&#39;" in r.text
        # Valid: each role's preview, by the live pages' own templates.
        r = c.post(check, data={"text": draft}, headers=session(c, ADA))
        assert "✓ Valid" in r.text and "A brother&#39;s lung cancer" in r.text
        assert "Your script · Preview" in r.text  # the SP's teleprompter
        assert "Role-play controls · Preview" in r.text  # the facilitator's
        assert "Door note" in r.text  # the learner's
        assert r.text.count("inert") == 3  # previews cannot send anything

        # Publishing: refused while broken (nothing stored), then version 1.
        publish = f"/author/case/{NEW}/publish"
        seq = svc.state.seq
        r = c.post(publish, data={"text": broken, "base": "0"}, headers=session(c, ADA))
        assert r.status_code == 422 and "Not published: level" in r.text and svc.state.seq == seq
        r = c.post(publish, data={"text": draft, "base": "0"}, headers=session(c, ADA))
        assert r.status_code == 200 and "Published version 1" in r.text, r.text
        assert svc.library[NEW].title == "A brother's lung cancer: news by video"
        # Someone who opened version 0 and publishes after: told, and nothing is lost.
        again = draft.replace("news by video", "news on a call")
        r = c.post(publish, data={"text": again, "base": "0"}, headers=session(c, DIRECTOR))
        assert r.status_code == 422 and "Version 1 was published since you opened version 0" in (
            r.text
        )
        r = c.post(publish, data={"text": draft, "base": "1"}, headers=session(c, DIRECTOR))
        assert r.status_code == 422 and "Nothing has changed since version 1" in r.text
        page = c.get(f"/author/case/{NEW}", headers=session(c, DIRECTOR)).text
        assert "Published versions" in page and "Ada Facilitator" in page and "title" in page
        yaml_file = c.get(f"/author/case/{NEW}.yaml", headers=session(c, DIRECTOR))
        assert yaml_file.status_code == 200 and yaml_file.text == draft
        assert yaml_file.headers["content-disposition"] == f'attachment; filename="{NEW}.yaml"'

        # A group plays it: the role-play records version 1; a later edit does not reach it.
        form_groups(c, seed=2, min_size=3, max_size=4)
        group = svc.state.rooms.group_of(pid(c, LEARNER))
        fac = svc.state.people.by_id[group.facilitator].reg.email
        r = c.post(f"/rp/{group.name}/start", data={"scenario": NEW}, headers=session(c, fac))
        assert r.status_code == 200, r.text
        assert svc.state.roleplays.of(group.name).version == 1
        r = c.post(publish, data={"text": again, "base": "1"}, headers=session(c, DIRECTOR))
        assert r.status_code == 200 and "Published version 2" in r.text
        facilitator_page = c.get("/", headers=session(c, fac)).text
        assert "news by video" in facilitator_page and "news on a call" not in facilitator_page
        r = c.post(
            f"/rp/{group.name}/begin",
            data={"learner": pid(c, LEARNER), "goal": "Warn before the news"},
            headers=session(c, fac),
        )
        assert r.status_code == 200
        assert svc.state.roleplays.of(group.name).turns[-1].version == 1

    # `companion scenarios export` writes the published versions back as files that check.
    from server.cli.main import main
    from server.content.cases import load_scenario

    out = tmp_path / "exported"
    assert (
        main(["scenarios", "export", str(out), "--store", f"sqlite:///{tmp_path / 'log.db'}"]) == 0
    )
    written = out / "roleplays" / f"{NEW}.yaml"
    assert written.read_text() == again
    assert load_scenario(written).title == "A brother's lung cancer: news on a call"
    assert main(["scenarios", "check", str(out / "roleplays")]) == 0


def test_authoring_refuses_hostile_text_and_unknown_kinds_and_keeps_the_files(tmp_path):
    with practice(tmp_path) as c:
        svc = c.app.state.service
        d = session(c, DIRECTOR)
        shipped = (ROLEPLAYS / f"{TEMPLATE}.yaml").read_text()
        seq = svc.state.seq
        cases = [
            ({"text": "x" * 100_001, "base": "0"}, "keep it under 100,000"),
            ({"text": shipped, "base": "zero"}, "must be a number"),
            (
                {"text": shipped.replace(f"id: {TEMPLATE}", "id: other-id"), "base": "0"},
                "must stay",
            ),
            ({"text": "- a\n- list", "base": "0"}, "expected a mapping"),
            ({"text": "!!python/object:os.system ls", "base": "0"}, "not valid YAML"),
            ({"text": shipped, "base": "0"}, "Nothing has changed"),
        ]
        for form, words in cases:
            r = c.post(f"/author/case/{TEMPLATE}/publish", data=form, headers=d)
            assert r.status_code == 422 and words in r.text, (form["text"][:40], r.text)
        assert svc.state.seq == seq  # nothing stored
        assert c.get("/author/poem/x", headers=d).status_code == 404
        assert c.post("/author/poem/x/check", data={"text": "x"}, headers=d).status_code == 404
        assert c.get("/author/case/no-such-case", headers=d).status_code == 404
        r = c.get("/author/new", params={"id": "Bad Id!", "from": TEMPLATE}, headers=d)
        assert r.status_code == 422
        r = c.get("/author/new", params={"id": TEMPLATE, "from": TEMPLATE}, headers=d)
        assert r.status_code == 409
        # A script in a field is text on every page it reaches.
        hostile = shipped.replace(
            next(line for line in shipped.splitlines() if line.startswith("title:")),
            'title: "<script>alert(1)</script>"',
        )
        r = c.post(f"/author/case/{TEMPLATE}/check", data={"text": hostile}, headers=d)
        assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
        assert (ROLEPLAYS / f"{TEMPLATE}.yaml").read_text() == shipped


def test_a_form_is_edited_checked_against_every_case_that_uses_it_and_published(tmp_path):
    from server.content.instruments import INSTRUMENTS

    with practice(tmp_path) as c:
        svc = c.app.state.service
        d = session(c, DIRECTOR)
        shipped = (INSTRUMENTS / "nurse.yaml").read_text()
        page = c.get("/author/instrument/nurse", headers=d)
        assert page.status_code == 200 and "as an observer (the form)" in page.text
        # An item turned into another kind than the global rating's: every case using it breaks.
        clash = shipped.replace(
            "id: silence\n        kind: scale", "id: empathy\n        kind: scale"
        )
        clash = clash.replace(
            "      - id: exploring\n        kind: observed",
            "      - id: relationship\n        kind: text",
        )
        r = c.post("/author/instrument/nurse/check", data={"text": clash}, headers=d)
        assert "&#39;relationship&#39; is a text item in one instrument and a scale item" in r.text
        assert "adult-pain-bone-metastases" in r.text
        purpose = next(line for line in shipped.splitlines() if line.startswith("purpose:"))
        better = shipped.replace(purpose, "purpose: Which empathic statements you heard, and when.")
        r = c.post("/author/instrument/nurse/check", data={"text": better}, headers=d)
        assert "✓ Valid; changed: purpose" in r.text and "Naming" in r.text  # the form previewed
        r = c.post(
            "/author/instrument/nurse/publish", data={"text": better, "base": "0"}, headers=d
        )
        assert r.status_code == 200 and "Published version 1" in r.text, r.text
        assert svc.instruments["nurse"].purpose == "Which empathic statements you heard, and when."
        assert (INSTRUMENTS / "nurse.yaml").read_text() == shipped  # the file is untouched
