"""Hypothesis strategies shared by the tiers: what a page (or anyone) can send a live socket."""

import json

from hypothesis import strategies as st

MAX_MESSAGE = 64 * 1024  # the socket's own limit (server/web/live.py), and just past it

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
KINDS = st.sampled_from(["clock", "media.offer", "media.mute", "media.leave", "x", ""])
# Numbers and nesting that Python's own parser and float() refuse in their own ways.
HOSTILE = st.one_of(
    st.integers(300, 6000).map(lambda n: '{"type": "clock", "t0": 1' + "0" * n + "}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0", "true"]).map(
        lambda v: '{"type": "clock", "t0": ' + v + "}"
    ),
    st.integers(1, 31000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 31000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(max_size=50).map(lambda t: '{"type": "media.offer", "sdp": "v=0' + t + '"}'),
)
MESSAGES = st.one_of(
    st.text(max_size=200),
    JSON.map(json.dumps),
    st.fixed_dictionaries(
        {"type": KINDS}, optional={"t0": JSON, "audio": JSON, "video": JSON, "sdp": JSON}
    ).map(json.dumps),
    HOSTILE,
    st.just("x" * (MAX_MESSAGE + 1)),
)
FRAMES = st.lists(
    st.one_of(
        MESSAGES.map(lambda t: ("text", t)), st.binary(max_size=300).map(lambda b: ("bytes", b))
    ),
    min_size=1,
    max_size=4,
)
