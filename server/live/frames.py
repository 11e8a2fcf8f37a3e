"""Frames: a partial that holds others, and what a page is sent when some partials changed."""

from __future__ import annotations

# A partial keyed `frame > name` sits inside the partial keyed `frame` (template paths hold
# slashes, so the separator is not one).
INSIDE = " > "


class Frame(str):
    """A partial that holds others (keyed `frame > name`). It compares as its own markup, with a
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
