"""People through the app: links, sessions, presence pushed to staff, revocation, credit."""

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.app.harness import make_client, pid, session, sign_in


def read_until(ws, needle, limit=30):
    for _ in range(limit):
        msg = ws.receive_text()
        if needle in msg:
            return msg
    raise AssertionError(f"{needle!r} never arrived")


def test_a_personal_link_opens_that_persons_page(client):
    sign_in(client, "lee@example.org")
    page = client.get("/").text
    assert "Lee Learner" in page and "learner" in page
    assert "My attendance" in page


def test_a_forged_link_gets_a_clear_page_not_a_trace(client):
    token = client.app.state.signer.link_token(pid(client, "lee@example.org"))
    r = client.get(f"/join/{token[:-3]}xyz")
    assert r.status_code == 403
    assert "This link does not work" in r.text and "Traceback" not in r.text


def test_a_link_for_someone_not_on_the_course(client):
    token = client.app.state.signer.link_token("p-nobody")
    r = client.get(f"/join/{token}")
    assert r.status_code == 403 and "not for anyone on this course" in r.text


def test_a_reissued_link_retires_the_old_link_and_session(client):
    old_link = client.app.state.signer.link_token(pid(client, "lee@example.org"))
    old_session = session(client, "lee@example.org")
    director = session(client, "director@example.org")
    r = client.post(f"/director/people/{pid(client, 'lee@example.org')}/reissue", headers=director)
    assert r.status_code == 200 and "/join/" in r.text
    new_link = r.text.split("http://testserver")[1].split("<")[0]
    assert "replaced by a newer one" in client.get(f"/join/{old_link}").text
    assert "Lee Learner" not in client.get("/", headers=old_session).text
    assert client.get(new_link, follow_redirects=False).status_code == 303


def test_revoking_a_link_closes_that_persons_open_page_at_once(client):
    lee = session(client, "lee@example.org")
    director = session(client, "director@example.org")
    with client.websocket_connect("/live", headers=lee) as ws:
        ws.receive_text(), ws.receive_text()
        r = client.post(
            f"/director/people/{pid(client, 'lee@example.org')}/revoke", headers=director
        )
        assert r.status_code == 200
        msg = json.loads(read_until(ws, '"revoked"'))
        assert msg["message"] == "Your personal link was revoked."
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_text()
        assert e.value.code == 4003
    token = client.app.state.signer.link_token(pid(client, "lee@example.org"))
    assert "revoked" in client.get(f"/join/{token}").text


def test_facilitators_see_learners_of_their_track_come_online_live(client):
    fran = session(client, "fran@example.org")  # adult-track facilitator
    with client.websocket_connect("/live", headers=fran) as staff:
        staff.receive_text()
        snapshot = staff.receive_text()
        assert 'id="presence"' in snapshot and "Lee Learner" in snapshot
        assert "Kim Learner" not in snapshot  # pediatric track: not Fran's
        lee_id = pid(client, "lee@example.org")
        with client.websocket_connect("/live", headers=session(client, "lee@example.org")):
            read_until(staff, f'class="person online" data-person="{lee_id}"')
        read_until(staff, f'class="person offline" data-person="{lee_id}"')


def test_learners_get_no_presence_or_people_partials(client):
    with client.websocket_connect("/live", headers=session(client, "lee@example.org")) as ws:
        ws.receive_text()
        snap = ws.receive_text()
        assert 'id="presence"' not in snap and 'id="people"' not in snap
        assert "fran@example.org" not in snap


def test_the_director_sees_everyone_with_link_controls(client):
    page = client.get("/", headers=session(client, "director@example.org")).text
    assert 'id="people"' in page and "kim@example.org" in page and "Revoke" in page


def test_a_learner_claims_credit_after_the_evaluation_and_gets_a_certificate(tmp_path):
    # Course time starts 60 s into day 1 and runs 600x: an hour passes in six seconds.
    with make_client(tmp_path, seconds_before_first=-60, speed=600) as c:
        lee, director = session(c, "lee@example.org"), session(c, "director@example.org")
        with c.websocket_connect("/live", headers=lee) as ws:
            ws.receive_text()
            import time

            time.sleep(7.0)  # more than an hour of course time online
        me = c.get("/me", headers=lee).text
        assert "after you submit the course evaluation" in me

        def claim(amount: str, **more: str):
            data = {"type": "nursing_contact_hours", "amount": amount, "attest": "yes", **more}
            return c.post("/me/claim", data=data, headers=lee)

        r = claim("1")
        assert r.status_code == 422 and "course evaluation" in r.text
        lee_id = pid(c, "lee@example.org")
        assert c.post(f"/director/people/{lee_id}/evaluation", headers=director).status_code == 200
        r = claim("99")
        assert r.status_code == 422 and "You may claim up to" in r.text
        r = c.post("/me/claim", data={"type": "nursing_contact_hours", "amount": "1"}, headers=lee)
        assert r.status_code == 422 and "attestation" in r.text
        r = claim("1")
        assert r.status_code == 200 and "Claimed 1 nursing contact hours" in r.text
        # A nurse is not offered AMA PRA Category 1 credit, and cannot claim it.
        r = claim("1", type="ama_pra_category_1")
        assert r.status_code == 422 and "not for your profession" in r.text
        cert = c.get("/certificate", headers=lee)
        assert cert.status_code == 200
        assert "Lee Learner" in cert.text and "1 nursing contact hours" in cert.text
        assert "AMA PRA" not in cert.text
        assert "Beth Israel Deaconess Medical Center" in cert.text
        other = c.get(
            f"/director/people/{lee_id}/certificate", headers=session(c, "kim@example.org")
        )
        assert other.status_code == 403


def test_staff_cannot_run_director_commands(client):
    lee_id = pid(client, "lee@example.org")
    for who in ("fran@example.org", "sam@example.org", "lee@example.org"):
        h = session(client, who)
        for path in (
            f"/director/people/{lee_id}/revoke",
            f"/director/people/{lee_id}/reissue",
            f"/director/people/{lee_id}/evaluation",
            "/director/announce",
        ):
            r = client.post(path, data={"text": "x"}, headers=h)
            assert r.status_code == 403 and "Only a course director" in r.text, (who, path)


def test_the_director_imports_a_roster_from_the_page(client):
    director = session(client, "director@example.org")
    csv = (
        "name,email,role,discipline,track\n"
        "New Person,new@example.org,learner,chaplain,adult\n"
        "Broken,broken,learner,chaplain,adult\n"
    )
    r = client.post(
        "/director/roster", files={"roster": ("r.csv", csv, "text/csv")}, headers=director
    )
    assert "Imported 1 new, updated 0, 0 unchanged" in r.text
    assert "line 3: malformed email" in r.text
    r = client.post(
        "/director/roster", files={"roster": ("r.csv", csv, "text/csv")}, headers=director
    )
    assert "Imported 0 new, updated 0, 1 unchanged" in r.text
    lee = session(client, "lee@example.org")
    r = client.post("/director/roster", files={"roster": ("r.csv", csv, "text/csv")}, headers=lee)
    assert r.status_code == 403
    r = client.post(
        "/director/roster",
        files={"roster": ("r.csv", b"\xff\xfe\x00", "text/csv")},
        headers=director,
    )
    assert r.status_code == 422 and "not UTF-8" in r.text


def test_the_director_credit_report_shows_findings_readiness_and_files(tmp_path, capsys):
    with make_client(tmp_path, seconds_before_first=60) as c:
        director, lee = session(c, "director@example.org"), session(c, "lee@example.org")
        assert c.get("/director/credit", headers=lee).status_code == 403
        page = c.get("/director/credit", headers=director)
        assert page.status_code == 200
        assert "16.50" in page.text and "No PARS activity id" in page.text
        assert "ABP MOC Part 2 points" in page.text and "Report by" in page.text
        # Kim is a physician: ABP is for her; she has not claimed it.
        assert "not claimed" in page.text
        csv_file = c.get("/director/credit/credits.csv", headers=director)
        assert (
            csv_file.status_code == 200 and "attachment" in csv_file.headers["content-disposition"]
        )
        assert "kim@example.org" in csv_file.text and "abp_moc" in csv_file.text
        pars = c.get("/director/credit/pars.txt", headers=director)
        assert pars.status_code == 409 and "activity id" in pars.text
        assert c.get("/director/credit/pars.txt", headers=lee).status_code == 403
        assert c.get("/director/credit/other.txt", headers=director).status_code == 404
        store = c.app.state.service.store.url
    from server.cli import main

    assert main(["export", "pars", "--store", store]) == 2
    assert "activity id" in capsys.readouterr().err
