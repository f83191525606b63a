"""Logging set-up: a ContextVar carries the job / dossier id onto every log line.

Library modules only do ``logging.getLogger(__name__)`` with %-style arguments; the entry points
call :func:`configure`. Never log citizen ID numbers or full OCR text at INFO: use :func:`redact`
on anything that came out of a page.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterator

job_id: contextvars.ContextVar[str] = contextvars.ContextVar("digitize_job_id", default="-")

_ID_NUMBER = re.compile(r"(?<!\d)(\d{12}|\d{9})(?!\d)")


def redact(text: str) -> str:
    """Mask 12-digit CCCD and 9-digit old ID numbers."""
    return _ID_NUMBER.sub(lambda m: "*" * len(m.group(1)), text)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = job_id.get()
        return True


@contextlib.contextmanager
def job_context(value: str) -> Iterator[None]:
    """Put ``value`` (a job id, file sha or dossier code) on every log line inside the block."""
    token = job_id.set(value)
    try:
        yield
    finally:
        job_id.reset(token)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of when it was made.

    A handler that kept the ``sys.stderr`` of its creation writes into a closed file once that stream is
    replaced and closed (pytest's capture, a daemon redirecting its output).
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


_OURS = ("digitize", "workers", "storage")


class _ClerkFilter(logging.Filter):
    """For a clerk's terminal: only the project's own warnings and errors, and each once.

    Library chatter (pikepdf, PIL, rq ...) is left out; records marked ``reported=True`` are left out too:
    the command prints those itself (a failed file is on its own line and in the summary).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "reported", False):
            return False
        return record.name.split(".")[0] in _OURS


def configure(level: str | int = "INFO", *, clerk: bool = False) -> None:
    """Configure root logging for an entry point (CLI, worker, API).

    ``clerk=True`` (the ``digitize`` command without ``-v``): warnings and errors of digitize itself, as
    ``digitize: warning: ...`` lines, nothing from libraries. Otherwise timestamped lines with the job id.
    Calling it again replaces the handler it installed before (never another one's).
    """
    handler = _CurrentStderrHandler()
    handler.addFilter(_ContextFilter())
    handler._digitize = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    if clerk:
        handler.addFilter(_ClerkFilter())
        handler.setFormatter(_ClerkFormatter())
        handler.setLevel(logging.WARNING)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(job_id)s] %(name)s: %(message)s"))
        handler.setLevel(level)  # a logger set lower elsewhere (a test's caplog) does not reach the console
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_digitize", False)] + [handler]
    root.setLevel(level)


class _ClerkFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from digitize.i18n import _

        kind = _("error") if record.levelno >= logging.ERROR else _("warning")
        return f"digitize: {kind}: {record.getMessage()}"
