"""The places that patch a library's internals check, at import, that the installed release has
what they patch, and say what is missing and why it matters."""

import logging

import pytest

from server.patched import PatchedLibraryChanged, require


class Protocol:
    def data_received(self, data):
        pass


def test_a_patched_member_that_is_gone_fails_at_import_with_the_reason():
    with pytest.raises(PatchedLibraryChanged) as e:
        require(
            "uvicorn",
            "0.54",
            "server/x.py",
            {Protocol: ("data_received", "on_url")},
            "subclasses its protocol",
        )
    text = str(e.value)
    assert "Protocol.on_url" in text and "server/x.py" in text and "subclasses its protocol" in text
    assert "uvicorn 0.54.x" in text and "data_received" not in text


def test_another_release_that_still_has_the_members_is_only_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="companion"):
        require("uvicorn", "0.1", "server/x.py", {Protocol: ("data_received",)}, "patches it")
    assert "written for uvicorn 0.1.x" in caplog.text


def test_every_patched_library_is_the_release_its_patch_was_written_for(caplog):
    import importlib.metadata

    with caplog.at_level(logging.WARNING, logger="companion"):
        import server.live.socket
        import server.media.ice
        import server.media.relay  # noqa: F401
    assert importlib.metadata.version("uvicorn").startswith("0.54.")
    assert importlib.metadata.version("aiortc").startswith("1.16.")
    assert importlib.metadata.version("aioice").startswith("0.13.")
