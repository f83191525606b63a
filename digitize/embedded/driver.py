"""The embedded driver: ``digitize run`` in one process tree, no services.

Pages of all files run in a process pool (one tesseract thread per worker). Each finished page is
saved to the object store and the index at once, so a run stopped by Ctrl-C or ``kill -9`` resumes
on the next run where it stopped; a file whose pages are all stored is finished (segmented,
extracted, PDFs assembled) in the parent process.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from digitize.config import Settings
from digitize.embedded.claims import FileClaims
from digitize.embedded.pool import run_isolated
from digitize.errors import DigitizeError, InputError, StorageError
from digitize.logs import job_context
from digitize.models import PageResult, SourceFile
from digitize.page.ingest import Candidate, discover, heavy_pages, inspect
from digitize.pipeline.file import Admission, admission, admit, fail_finish, finish_file, reject
from digitize.pipeline.page import OcrOptions, PageOutcome, PageTask, failed_page
from digitize.pipeline.pagestore import load_stored_page, save_page
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    """How one input file went."""

    source: str
    sha256: str = ""
    status: str = "pending"  # done, failed, skipped (already done), partial (some pages failed)
    pages: int = 0
    pages_done: int = 0
    pages_failed: int = 0
    pages_blank: int = 0
    documents: int = 0
    needs_review: int = 0
    error: str | None = None
    reason: str | None = None  # the error's reason code (digitize.errors), for a message in the clerk's language


@dataclass
class RunSummary:
    """What a run did, file by file."""

    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0
    pages_processed: int = 0  # pages OCR'd in this run (not loaded from a previous run)

    @property
    def ok(self) -> bool:
        """True when every file was processed without a failure."""
        return all(f.status in ("done", "skipped") for f in self.files)

    def count(self, status: str) -> int:
        """Number of files with ``status``."""
        return sum(1 for f in self.files if f.status == status)


class Progress:
    """Progress callbacks; the CLI supplies a rich progress bar or plain log lines."""

    def start(self, files: int) -> None:
        """Called once with the number of files found."""

    def add_pages(self, n: int) -> None:
        """Called when a file's pages become known."""

    def page_done(self) -> None:
        """Called for every page finished (processed or loaded from a previous run)."""

    def file_done(self, report: FileReport) -> None:
        """Called when a file is finished or failed."""

    def stop(self) -> None:
        """Called at the end."""


@dataclass
class _FileState:
    src: SourceFile
    report: FileReport
    results: dict[int, PageResult] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)
    heavy: set[int] | None = field(default_factory=set)  # pages run alone (memory); None: every page

    def is_heavy(self, page: int) -> bool:
        """Whether the page runs with nothing else in flight (see ``ingest.heavy_pages``)."""
        return self.heavy is None or page in self.heavy


def run(paths: list[Path], settings: Settings, index: Index, store: ObjectStore,
        progress: Progress | None = None, *, keep_pages: bool = False) -> RunSummary:
    """Process every file under ``paths``; return a summary (never raises for a bad input file).
    ``keep_pages``: keep the page intermediates of done files too (for developers: ``scripts/refinish.py``)."""
    return run_candidates(list(discover(paths)), settings, index, store, progress, keep_pages=keep_pages)


def run_candidates(candidates: list[Candidate], settings: Settings, index: Index, store: ObjectStore,
                   progress: Progress | None = None, *, keep_pages: bool = False) -> RunSummary:
    """Process these files (each with the ``source`` name it is recorded under); as :func:`run`."""
    progress = progress or Progress()
    started = time.monotonic()
    summary = RunSummary()
    progress.start(len(candidates))
    states: list[_FileState] = []
    seen: dict[str, str] = {}  # sha256 -> the name it was first found under in this run
    claims = FileClaims(settings.archive / "claims")
    try:
        for cand in candidates:
            state = _open_file(cand, settings, index, store, summary, progress, seen, claims)
            if state is not None:
                states.append(state)
        _run_pages(states, settings, index, store, summary, progress, claims, keep_pages)
    finally:
        claims.release_all()
    summary.seconds = time.monotonic() - started
    progress.stop()
    return summary


def _open_file(cand: Candidate, settings: Settings, index: Index, store: ObjectStore, summary: RunSummary,
               progress: Progress, seen: dict[str, str], claims: FileClaims) -> _FileState | None:
    report = FileReport(source=cand.source)
    summary.files.append(report)
    try:
        src = inspect(cand.path, cand.source, max_pixels=settings.max_pixels, max_pages=settings.max_pages,
                      render_dpi=settings.render_dpi)
    except InputError as e:
        _fail_input(cand, e, index, store, report)
        progress.file_done(report)
        return None
    except OSError as e:
        _fail_input(cand, InputError(f"cannot read the file ({e.strerror or e})", path=cand.source),
                    index, store, report)
        progress.file_done(report)
        return None
    report.sha256, report.pages = src.sha256, src.page_count
    row = index.get_file(src.sha256)
    admitted = admission(row)
    if src.sha256 in seen or admitted is Admission.DUPLICATE:
        report.status = "skipped"
        report.error = "same bytes as " + (seen.get(src.sha256) or (row["source"] if row else "another file"))
        if row:
            report.pages_done, report.pages_blank = row["pages_done"], row["pages_blank"]
        log.info("%s: already processed (sha256 %s), nothing to do", src.source, src.sha256[:12])
        progress.file_done(report)
        return None
    # queued or processing: resumed only when no other live run is on it (its claim is free)
    if not claims.claim(src.sha256):
        report.status, report.error = "skipped", "being processed by another run"
        log.info("%s: being processed by another run (sha256 %s)", src.source, src.sha256[:12])
        progress.file_done(report)
        return None
    try:
        admit(store, index, sha256=src.sha256, source=src.source, path=Path(src.path), kind=src.kind,
              size=src.size, status="processing", page_count=src.page_count)
    except (OSError, StorageError) as e:  # disk full, index locked: this file waits for the next run
        claims.release(src.sha256)
        report.status, report.error = "failed", f"cannot store it in the archive: {_why(e)}"
        log.error("%s: %s", src.source, report.error, extra={"reported": True})
        progress.file_done(report)
        return None
    seen[src.sha256] = src.source
    state = _FileState(src, report, heavy=heavy_pages(Path(src.path), src.kind))
    for page in range(1, src.page_count + 1):
        stored = load_stored_page(store, src.sha256, page)
        if stored is not None:
            state.results[page] = stored
        else:
            state.pending.add(page)
    progress.add_pages(src.page_count)
    for _ in state.results:
        progress.page_done()
    if state.results:
        log.info("%s: resuming, %d of %d pages already done", src.source, len(state.results), src.page_count)
    return state


def _fail_input(cand: Candidate, err: InputError, index: Index, store: ObjectStore, report: FileReport) -> None:
    import hashlib

    from digitize.page.ingest import sha256_of

    err.path = cand.source
    try:
        sha, _ = sha256_of(cand.path)
    except OSError:
        sha = hashlib.sha256(f"unreadable:{cand.source}".encode()).hexdigest()
        _record_failure(index, sha, cand.source, 0, err)
    else:
        try:
            reject(store, index, sha, cand.source, cand.path, err)  # quarantined, recorded, file record written
        except OSError as e:  # disk full: the original stays where it is
            log.error("%s: not kept in quarantine: %s", cand.source, _why(e))
            _record_failure(index, sha, cand.source, 0, err)
        except StorageError as e:
            log.error("%s: the failure could not be recorded in the index: %s", cand.source, e)
    report.sha256, report.status, report.error, report.reason = sha, "failed", str(err), err.reason


def _record_failure(index: Index, sha: str, source: str, size: int, err: InputError) -> None:
    """Record a rejected input in the index (when the index can be written at all) and log it once."""
    log.error("%s", err, extra={"reported": True})  # the command prints the file's failure itself
    try:
        index.fail_file(sha, source=source, size=size, reason=err.reason, message=str(err))
    except StorageError as e:
        log.error("%s: the failure could not be recorded in the index: %s", source, e)


def _tasks(states: list[_FileState], settings: Settings) -> Iterator[tuple[_FileState, PageTask]]:
    for st in states:
        for page in sorted(st.pending):
            yield st, PageTask.for_page(settings, path=st.src.path, kind=st.src.kind, page=page)


def _run_pages(states: list[_FileState], settings: Settings, index: Index, store: ObjectStore,
               summary: RunSummary, progress: Progress, claims: FileClaims, keep_pages: bool) -> None:
    """The bookkeeping of the run's pages: each outcome saved as it comes, a file finished after its last."""
    ocr = OcrOptions.from_settings(settings)
    for st in states:
        if not st.pending:
            _finish(st, index, store, progress, ocr, claims, keep_pages)
    items = _tasks(states, settings)
    for (st, _task), outcome in run_isolated(items, lambda item: item[1], jobs=settings.jobs,
                                               heavy=lambda item: item[0].is_heavy(item[1].page)):
        with job_context(st.src.sha256[:12]):
            try:
                save_page(store, index, st.src.sha256, outcome)
            except (OSError, StorageError) as e:  # not stored: the next run reads the page again
                page = outcome.result.page
                outcome = PageOutcome(failed_page(page, f"cannot store page {page} in the archive: {_why(e)}"), None)
                log.error("%s: %s", st.src.source, outcome.result.error)
        st.results[outcome.result.page] = outcome.result
        st.pending.discard(outcome.result.page)
        summary.pages_processed += 1
        progress.page_done()
        if not st.pending:
            _finish(st, index, store, progress, ocr, claims, keep_pages)


def _why(e: Exception) -> str:
    """The reason of a storage failure in a clerk's words (an OSError by its message, not its errno)."""
    if isinstance(e, OSError):
        text = e.strerror or str(e)
        return f"{text}: free some space and run again" if e.errno == errno.ENOSPC else text
    return str(e)


def _finish(st: _FileState, index: Index, store: ObjectStore, progress: Progress, ocr: OcrOptions,
            claims: FileClaims, keep_pages: bool) -> None:
    rep = st.report
    with job_context(st.src.sha256[:12]):
        try:
            # a done file's page objects go (kept while a page failed, or asked for with keep_pages)
            outcome = finish_file(st.src, [st.results[p] for p in sorted(st.results)], index, store, ocr,
                                  keep_pages=keep_pages)
        except (DigitizeError, OSError) as e:
            rep.status, rep.error, rep.reason = "failed", _why(e), getattr(e, "reason", "storage")
            log.error("%s: %s", st.src.source, rep.error, extra={"reported": True})
            try:
                fail_finish(index, store, st.src.sha256, getattr(e, "reason", "storage"), rep.error)
            except (StorageError, OSError) as again:  # the index itself cannot be written: the report says it
                log.error("%s: %s", st.src.source, again)
            progress.file_done(rep)
            return
        finally:
            claims.release(st.src.sha256)
    rep.pages_done, rep.pages_failed, rep.pages_blank = outcome.pages_done, outcome.pages_failed, outcome.pages_blank
    rep.documents, rep.needs_review = outcome.documents, outcome.needs_review
    rep.status = "failed" if outcome.pages_failed else "done"
    if outcome.pages_failed:
        rep.error = outcome.error
    progress.file_done(rep)

