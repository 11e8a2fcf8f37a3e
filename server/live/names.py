"""One way to turn a name (a group's, say) into a token safe in a page's element ids and in a
folder name: lower-case letters and digits, each other run of characters one hyphen."""

from __future__ import annotations

import re

_OTHER = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _OTHER.sub("-", text.lower()).strip("-") or "x"
