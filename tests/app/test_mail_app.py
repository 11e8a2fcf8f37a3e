"""Invitations and reminders through a real SMTP server on loopback (aiosmtpd) that insists on
STARTTLS and a login: the messages are read back (headers, the link opens the person's page, the
calendar parses), a second run sends nothing, a refused address is recorded and shown, a dry run
sends and records nothing."""

import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.app.harness import make_client, pid, session

USER, PASSWORD = "course-mailer", "s3cret-pass"
REFUSED = "kim@example.org"


def certificate(tmp_path):
    """A certificate authority and a server certificate for 127.0.0.1, made for this test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test mail CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 <kim@example.org>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"


def login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    ca_file, cert_file, key_file = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=login,
        auth_required=True,
    )
    controller.start()
    for key, value in {
        "COMPANION_SMTP_HOST": "127.0.0.1",
        "COMPANION_SMTP_PORT": str(port),
        "COMPANION_SMTP_USER": USER,
        "COMPANION_SMTP_PASSWORD": PASSWORD,
        "COMPANION_SMTP_FROM": "Course team <course@example.org>",
        "COMPANION_SMTP_CAFILE": str(ca_file),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COMPANION_BASE_URL", "http://testserver")
    yield inbox
    controller.stop()


def test_invitations_go_out_once_with_a_working_link_and_a_calendar(tmp_path, smtp):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        director = session(c, "director@example.org")
        r = c.post("/director/mail/invite", headers=director)
        assert r.status_code == 200 and "Sent 5 invitations; 1 failed" in r.text, r.text
        people = c.app.state.service.state.people
        assert len(smtp.messages) == 5
        lee = next(m for m in smtp.messages if "lee@example.org" in m["To"])
        assert lee["From"] == "Course team <course@example.org>"
        assert lee["To"] == "Lee Learner <lee@example.org>"
        assert lee["Subject"] == "Your link to Core Practice of Palliative Care"
        assert re.fullmatch(r"<[^@>]+@example\.org>", lee["Message-ID"])
        body = lee.get_body(("plain",)).get_content()
        link = re.search(r"http://testserver/join/\S+", body).group(0)
        # The link in the mail opens Lee's page.
        c.cookies.clear()
        r = c.get(link.removeprefix("http://testserver"), follow_redirects=False)
        assert r.status_code == 303
        assert "Lee Learner" in c.get("/").text
        # The calendar attached parses and holds the agenda.
        attachment = next(p for p in lee.iter_attachments() if p.get_filename() == "course.ics")
        assert attachment.get_content_type() == "text/calendar"
        cal = icalendar.Calendar.from_ical(attachment.get_content())
        assert len(list(cal.walk("VEVENT"))) == len(c.app.state.service.schedule.items)
        subscribe = re.search(r"http://testserver/calendar/\S+\.ics", body).group(0)
        r = c.get(subscribe.removeprefix("http://testserver"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        # The refusal is recorded with the server's answer and shown to the director.
        kim = pid(c, REFUSED)
        failed = c.app.state.service.state.mail.failed[(kim, "invite")]
        assert failed.error.startswith("550 5.1.1")
        page = c.get("/", headers=director).text
        assert "invitation failed: 550 5.1.1" in page and "invited" in page
        # A second run sends only what is still due: the refused one.
        r = c.post("/director/mail/invite", headers=director)
        assert "Sent 0 invitations; 1 failed" in r.text and len(smtp.messages) == 5
        # A resend to one person goes out again.
        lee_id = pid(c, "lee@example.org")
        r = c.post(f"/director/people/{lee_id}/mail", headers=director)
        assert "Sent Lee Learner their link" in r.text and len(smtp.messages) == 6
        assert (
            c.post(
                f"/director/people/{lee_id}/mail", headers=session(c, "lee@example.org")
            ).status_code
            == 403
        )
        r = c.post("/director/mail/remind", data={"day": "2"}, headers=director)
        assert "Sent 5 reminders" in r.text and len(smtp.messages) == 11
        r = c.post("/director/mail/remind", data={"day": "2"}, headers=director)
        assert "Everyone invited has had this reminder" in r.text
        r = c.post("/director/mail/remind", data={"day": "7"}, headers=director)
        assert r.status_code == 422 and "from 1 to 3" in r.text
        sent = {pid_ for (pid_, kind) in c.app.state.service.state.mail.sent if kind == "invite"}
        assert len(sent) == 5 and kim not in sent
        assert people is not None


def test_the_command_line_sends_reminders_and_dry_runs_send_nothing(
    tmp_path, smtp, capsys, monkeypatch
):
    from server.cli import main

    monkeypatch.setenv("COMPANION_SECRET", "cli-secret-0123456789abcdef-0123456789")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,email,role,discipline,track\n"
        "Ann Able,ann@example.org,learner,nurse,adult\n"
        "Ben Bold,ben@example.org,learner,physician,adult\n"
    )
    store = f"sqlite:///{tmp_path / 'log.db'}"
    assert main(["roster", "import", str(roster), "--store", store]) == 0
    capsys.readouterr()
    assert main(["mail", "invite", "--dry-run", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "would send invite to Ann Able <ann@example.org>" in out and not smtp.messages
    assert main(["mail", "remind", "--day", "2", "--store", store]) == 0
    assert "0 sent" in capsys.readouterr().out  # nobody invited yet: nobody reminded
    assert main(["mail", "invite", "--to", "ann@example.org", "--store", store]) == 0
    assert "sent invite to Ann Able" in capsys.readouterr().out and len(smtp.messages) == 1
    assert main(["mail", "remind", "--day", "2", "--store", store]) == 0
    assert len(smtp.messages) == 2 and "day 2 is coming" in smtp.messages[1]["Subject"]
    assert main(["mail", "remind", "--day", "9", "--store", store]) == 2
    assert "days 1 to 3" in capsys.readouterr().err
    monkeypatch.setenv("COMPANION_SMTP_SECURITY", "sometimes")
    assert main(["mail", "invite", "--store", store]) == 2
    assert "COMPANION_SMTP_SECURITY 'sometimes'" in capsys.readouterr().err
