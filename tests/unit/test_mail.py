"""Who mail is due to, and what a send records: pure rules."""

import pytest

from server.domain.errors import DomainError, PermissionDenied
from server.domain.mail import RecordMail, due
from server.domain.people_rules import ImportRoster, ReissueLink, RevokeLink
from server.domain.roles import CLI_ACTOR
from server.domain.roster import parse_roster
from tests.unit.harness import SALT, Course

ROSTER = """name,email,role,discipline,track
Ann Able,ann@example.org,learner,nurse,adult
Ben Bold,ben@example.org,learner,physician,adult
Cat Calm,cat@example.org,facilitator,nurse,adult
"""


@pytest.fixture
def c():
    course = Course()
    course.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    return course


def names(c, kind):
    return [c.state.people.by_id[p].name for p in due(c.state.people, c.state.mail, kind)]


def test_an_invitation_is_due_until_sent_for_the_current_link(c):
    ann, ben = c.person("ann@example.org"), c.person("ben@example.org")
    assert names(c, "invite") == ["Ann Able", "Ben Bold", "Cat Calm"]
    c.do(RecordMail(ann.id, "invite", True, "<m1@example.org>"))
    c.do(RecordMail(ben.id, "invite", False, "550 5.1.1 no such user"))
    assert names(c, "invite") == ["Ben Bold", "Cat Calm"]  # a failure stays due
    assert c.state.mail.failed[(ben.id, "invite")].error == "550 5.1.1 no such user"
    c.do(ReissueLink(ann.id))  # her old link no longer works: the new one is due
    assert names(c, "invite") == ["Ann Able", "Ben Bold", "Cat Calm"]
    c.do(RevokeLink(ben.id))
    assert "Ben Bold" not in names(c, "invite")
    c.do(RecordMail(ben.id, "invite", True, "<m2@example.org>"))  # a later success clears it
    assert (ben.id, "invite") not in c.state.mail.failed


def test_a_days_reminder_goes_once_to_everyone_invited(c):
    ann = c.person("ann@example.org")
    assert names(c, "reminder-day-2") == []
    c.do(RecordMail(ann.id, "invite", True, "<m1@example.org>"))
    assert names(c, "reminder-day-2") == ["Ann Able"]
    c.do(RecordMail(ann.id, "reminder-day-2", True, "<m2@example.org>"))
    assert names(c, "reminder-day-2") == [] and names(c, "reminder-day-3") == ["Ann Able"]


def test_only_the_director_records_mail_and_only_known_messages(c):
    ann = c.person("ann@example.org")
    with pytest.raises(PermissionDenied):
        c.do(RecordMail(ann.id, "invite", True, "x"), c.actor("cat@example.org"))
    with pytest.raises(DomainError, match="No such message"):
        c.do(RecordMail(ann.id, "newsletter", True, "x"), CLI_ACTOR)
    with pytest.raises(DomainError, match="No such message"):
        due(c.state.people, c.state.mail, "reminder-day-0")
    with pytest.raises(DomainError, match="No such person"):
        c.do(RecordMail("nobody", "invite", True, "x"), CLI_ACTOR)
    long = c.do(RecordMail(ann.id, "invite", False, "x" * 5000))
    assert len(long[0].data["error"]) == 300
