"""Property-based tests on the parsers not covered elsewhere: the course, case and instrument
files (YAML), and the live socket's messages. Whatever a file holds or a page sends, the answer
is a usable object or an error that says what and where; never any other exception."""

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.content.cases import ROLEPLAYS, load_scenario
from server.content.course import COURSE_FILE, load_course
from server.content.files import ContentError
from server.content.instruments import EVALUATIONS, INSTRUMENTS, load_instrument
from server.service.clock import Clock
from server.service.course import CourseService
from server.store.sqlite import SQLiteStore
from server.web.live import MAX_MESSAGE, handle, parse
from tests.strategies import MAX_MESSAGE as SENT_LIMIT
from tests.strategies import MESSAGES

FILES = [
    ("course", COURSE_FILE, load_course),
    ("case", sorted(ROLEPLAYS.glob("*.yaml"))[0], load_scenario),
    ("instrument", sorted(INSTRUMENTS.glob("*.yaml"))[0], load_instrument),
    ("evaluation", sorted(EVALUATIONS.glob("*.yaml"))[0], load_instrument),
]
WORK = Path(tempfile.mkdtemp(prefix="parsers-"))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just(""),
    st.just("25:99"),
    st.just("2026-02-30"),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a parsed document: keys of mappings, indexes of lists."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


def mutate(doc: Any, data: st.DataObject) -> Any:
    """One change at one place: a value replaced, a key dropped, a list emptied or doubled."""
    where = data.draw(st.sampled_from(paths(doc)))
    if not where:
        return data.draw(VALUES)
    parent = doc
    for part in where[:-1]:
        parent = parent[part]
    last = where[-1]
    how = data.draw(st.sampled_from(["replace", "drop", "empty", "double"]))
    if how == "drop":
        del parent[last]
    elif how == "empty" and isinstance(parent[last], list | dict):
        parent[last] = type(parent[last])()
    elif how == "double" and isinstance(parent[last], list):
        parent[last] = parent[last] * 2
    else:
        parent[last] = data.draw(VALUES)
    return doc


def load_or_explain(load, text: str, name: str) -> None:
    path = WORK / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ContentError as e:
        assert e.problems, "an error with no problem listed"
        for p in e.problems:
            assert p.message.strip()
        assert str(e).startswith(str(path)), str(e)[:200]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_broken_content_file_gives_an_error_that_names_the_file_and_the_field(data):
    name, source, load = data.draw(st.sampled_from(FILES))
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data)
    load_or_explain(load, yaml.safe_dump(doc, allow_unicode=True), name)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(FILES), st.text(max_size=200))
def test_any_text_as_a_content_file_is_an_error_or_a_file(which, text):
    name, _, load = which
    load_or_explain(load, text, name)


SERVICE = CourseService(load_course(), SQLiteStore(WORK / "unused.db"), Clock())


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_any_socket_message_gets_a_reply_or_an_error_never_a_crash(text):
    assert SENT_LIMIT == MAX_MESSAGE
    msg = parse(text)
    if isinstance(msg, str):
        assert json.loads(msg)["type"] == "error" and json.loads(msg)["message"]
        return
    reply = handle(SERVICE, msg)
    if reply is not None:
        body = json.loads(reply)
        assert body["type"] in ("clock", "error")
        if body["type"] == "clock":
            assert msg["type"] == "clock" and isinstance(body["server"], float)
