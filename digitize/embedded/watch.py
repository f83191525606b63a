"""``digitize watch FOLDER``: process each scan a scanner drops into a folder, once, when it is complete.

A file is complete when either its completion marker exists (``--marker .done``: the scanner writes
``scan.pdf`` then ``scan.pdf.done``), or, without a marker, when no process has it open for writing
(Linux: ``/proc/*/fd``) and its size and modification time have not changed for ``settle`` seconds
(seen on two polls). Hidden files (``.scan.pdf.tmp``: rsync, SMB temporaries) are never taken.

What was handled is recorded in the archive (``<archive>/watch/<folder id>.json``: the file's path in
the folder, size and mtime, its sha256 and outcome), written after each batch. On restart a file whose
entry matches is not looked at again; anything else in the folder — a file dropped while the watcher
was down, or one whose run was cut short — is taken on the first poll (a cut-short run resumes from
its stored pages, see the embedded driver). Originals are left in place, or moved to ``--done-dir`` /
``--failed-dir`` (keeping their path inside the folder). In distributed mode (``--enqueue``, the default
when ``DIGITIZE_OBJECT_STORE=s3``) the files are uploaded and queued for the workers instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitize.page.ingest import Candidate, discover

log = logging.getLogger(__name__)

Processor = Callable[[list[Candidate]], dict[str, str]]  # candidates -> {source: "done"|"skipped"|"failed"|"queued"}


@dataclass
class WatchOptions:
    """How the watcher decides that a file is complete, and what it does with the original."""

    folder: Path
    settle: float = 5.0  # seconds without a change (and no writer) before a file is taken
    poll: float = 2.0
    marker: str | None = None  # e.g. ".done": take X only once X.done exists (the marker is removed after)
    done_dir: Path | None = None  # move processed originals here (None: leave them)
    failed_dir: Path | None = None  # move failed originals here (None: leave them)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


@dataclass
class WatchState:
    """What was handled, by path in the folder: ``{"size", "mtime_ns", "status", "at"}``; saved in the archive."""

    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, archive: Path, folder: Path) -> WatchState:
        """The state of ``folder`` kept in ``archive`` (empty the first time)."""
        folder_id = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
        path = archive / "watch" / f"{folder_id}.json"
        files = json.loads(path.read_text(encoding="utf-8"))["files"] if path.exists() else {}
        return cls(path, files)

    def handled(self, source: str, size: int, mtime_ns: int) -> bool:
        """True when this very file (same size and mtime) was handled before."""
        e = self.files.get(source)
        return e is not None and e["size"] == size and e["mtime_ns"] == mtime_ns

    def save(self) -> None:
        """Write atomically (a crash leaves the old state or the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.files}, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def open_for_writing(paths: set[Path]) -> set[Path]:
    """Which of ``paths`` some process (that we may see) has open for writing (Linux ``/proc``)."""
    if not paths:
        return set()
    wanted = {str(p.resolve()): p for p in paths}
    busy: set[Path] = set()
    proc = Path("/proc")
    for pid in (d for d in _listdir(proc) if d.isdigit()):
        fd_dir = proc / pid / "fd"
        for fd in _listdir(fd_dir):
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target in wanted:
                flags = _fd_flags(proc / pid / "fdinfo" / fd)
                if flags is None or flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                    busy.add(wanted[target])
    return busy


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:  # a process that ended, or one we may not look into
        return []


def _fd_flags(fdinfo: Path) -> int | None:
    try:
        for line in fdinfo.read_text().splitlines():
            if line.startswith("flags:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        return None
    return None


class Watcher:
    """Polls a folder and hands complete, not yet handled files to a processor, in batches."""

    def __init__(self, options: WatchOptions, state: WatchState, process: Processor) -> None:
        self.opt = options
        self.state = state
        self.process = process
        self.seen: dict[str, _Seen] = {}
        self.stop = threading.Event()

    def ready(self, now: float | None = None) -> list[Candidate]:
        """The files complete now and not handled before (observations are kept between calls)."""
        now = time.monotonic() if now is None else now
        found: dict[str, Candidate] = {}
        stats: dict[str, os.stat_result] = {}
        for cand in discover([self.opt.folder]):
            if self.opt.marker and cand.source.endswith(self.opt.marker):
                continue
            try:
                stats[cand.source] = cand.path.stat()
            except OSError:
                continue
            found[cand.source] = cand
        for gone in set(self.seen) - set(found):
            del self.seen[gone]
        stable: list[Candidate] = []
        for source, cand in found.items():
            st = stats[source]
            if self.state.handled(source, st.st_size, st.st_mtime_ns):
                continue
            if self.opt.marker:
                if cand.path.with_name(cand.path.name + self.opt.marker).exists():
                    stable.append(cand)
                continue
            prev = self.seen.get(source)
            if prev is None or (prev.size, prev.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.seen[source] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            if now - prev.since >= self.opt.settle:
                stable.append(cand)
        if self.opt.marker:
            return stable
        busy = open_for_writing({c.path for c in stable})
        for c in stable:
            if c.path in busy:
                self.seen[c.source].since = now  # a writer holds it: wait a full settle after it lets go
        return [c for c in stable if c.path not in busy]

    def poll_once(self) -> dict[str, str]:
        """Process what is ready; record and move the originals; return ``{source: outcome}``."""
        batch = self.ready()
        if not batch:
            return {}
        stats = {c.source: c.path.stat() for c in batch}
        outcomes = self.process(batch)
        for cand in batch:
            status = outcomes.get(cand.source, "failed")
            st = stats[cand.source]
            self.state.files[cand.source] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "status": status,
                                             "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            self._dispose(cand, status)
            self.seen.pop(cand.source, None)
        self.state.save()
        return outcomes

    def _dispose(self, cand: Candidate, status: str) -> None:
        target_dir = self.opt.failed_dir if status == "failed" else self.opt.done_dir
        marker = cand.path.with_name(cand.path.name + self.opt.marker) if self.opt.marker else None
        if target_dir is not None:
            target = target_dir / cand.source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(cand.path), target)
        if marker is not None and marker.exists():
            marker.unlink()

    def run(self, *, once: bool = False) -> None:
        """Poll until :attr:`stop` is set (``once``: until nothing is pending, then return)."""
        log.info("watching %s (%s)", self.opt.folder,
                 f"completion marker {self.opt.marker}" if self.opt.marker else
                 f"a file is taken {self.opt.settle:g} s after its last change, once no one writes it")
        alive = self.state.path.with_suffix(".alive")  # its mtime: the service's health check
        alive.parent.mkdir(parents=True, exist_ok=True)
        while not self.stop.is_set():
            alive.touch()
            self.poll_once()
            if once and not self.pending():
                return
            self.stop.wait(self.opt.poll)

    def pending(self) -> bool:
        """True while a file in the folder is waiting to be complete."""
        return bool(self.seen)


def embedded_processor(settings: Any, index: Any, store: Any) -> Processor:
    """Process a batch in this process tree (the embedded driver); outcome per source."""
    from digitize.embedded.driver import run_candidates

    def process(batch: list[Candidate]) -> dict[str, str]:
        summary = run_candidates(batch, settings, index, store)
        for f in summary.files:  # a failure's reason is logged by the driver, once
            log.info("%s: %s (%d pages, %d documents, %d to review)", f.source,
                     "already processed" if f.status == "skipped" else f.status, f.pages, f.documents,
                     f.needs_review)
        return {f.source: f.status for f in summary.files}

    return process


def queue_processor(cluster: Any) -> Processor:
    """Distributed mode: upload and queue the batch for the workers (they are recorded by file name)."""
    from workers.queue import enqueue_paths

    def process(batch: list[Candidate]) -> dict[str, str]:
        out: dict[str, str] = {}
        for cand in batch:
            rep = enqueue_paths([cand.path], cluster)
            out[cand.source] = "failed" if rep.failed else "skipped" if rep.skipped else "queued"
            for line in rep.failed:
                log.error("%s", line)
            if rep.queued:
                log.info("%s: queued for the workers", cand.source)
        return out

    return process
