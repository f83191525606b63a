"""The CLI's logging: the console handler follows sys.stderr; a clerk sees no library chatter."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from digitize.logs import configure


def test_console_handler_writes_to_the_current_stderr_not_a_closed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure("INFO")
    first.close()  # what pytest does to its capture stream after a test
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("digitize.test").warning("after the swap")
    assert "after the swap" in second.getvalue()


def test_clerk_console_shows_only_digitize_warnings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure(clerk=True)
    logging.getLogger("pikepdf._core").warning("pikepdf C++ to Python logger bridge initialized")
    logging.getLogger("digitize.embedded.driver").info("resuming")
    logging.getLogger("digitize.embedded.driver").error("bad.pdf: reported by the command", extra={"reported": True})
    logging.getLogger("digitize.embedded.driver").warning("a worker process died")
    text = out.getvalue()
    assert text == "digitize: warning: a worker process died\n"
    configure("INFO")
    logging.getLogger("pikepdf._core").warning("library line")
    assert "library line" in out.getvalue()  # -v / services: everything
