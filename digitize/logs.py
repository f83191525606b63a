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


def configure(level: str | int = "INFO") -> None:
    """Configure root logging for an entry point (CLI, worker, API)."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(job_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
