"""Bad input on the archive's side (README "Bad and strange input"): the same bytes under two names, the
archive's disk filling up mid-write, the index locked by another process. Each: a one-line reason naming
the file, the batch goes on where it can, nothing half-stored, the index intact, and the next run
finishes the work. Runs ``digitize run``'s driver on blank generated pages (no OCR needed)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from digitize.config import Settings
from digitize.embedded import driver
from digitize.errors import StorageError
from digitize.samples import pages
from digitize.terminal import run_summary
from storage.index import Index
from storage.objects import LocalObjectStore


class FullDisk(LocalObjectStore):
    """A local store whose disk fills up in the middle of writing the objects ``full(key)`` picks."""

    def __init__(self, root: Path, full: Callable[[str], bool]) -> None:
        super().__init__(root)
        self.full = full
        self.refused: list[str] = []

    def _atomic_write(self, key: str, write):  # type: ignore[no-untyped-def, override]
        if not self.full(key):
            return super()._atomic_write(key, write)

        def half(out, h) -> None:  # type: ignore[no-untyped-def]
            out.write(b"%PDF-1.4\n" + b"\0" * 4096)  # the first part reaches the disk, then no space is left
            out.flush()
            self.refused.append(key)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return super()._atomic_write(key, half)


def _batch(folder: Path, n: int = 2) -> list[Path]:
    folder.mkdir(exist_ok=True)
    files = []
    for i in range(n):
        files.append(folder / f"scan-{i + 1}.png")
        Image.fromarray(pages.blank_page(150, seed=i)).save(files[-1], dpi=(150, 150))
    return files


def _run(folder: Path, archive: Path, store: LocalObjectStore | None = None, *, lock_timeout: float = 60.0,
         index: Index | None = None) -> driver.RunSummary:
    settings = Settings(archive=archive, jobs=1)
    archive.mkdir(exist_ok=True)
    own = index is None
    index = index or Index.from_url(f"sqlite:///{archive / 'index.sqlite'}", lock_timeout=lock_timeout)
    try:
        return driver.run([folder], settings, index, store or LocalObjectStore(archive / "objects"))
    finally:
        if own:
            index.close()


def _intact(archive: Path) -> None:
    """The index passes SQLite's integrity check and no temporary (half-written) object is left."""
    with sqlite3.connect(archive / "index.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [p for p in (archive / "objects").rglob(".tmp-*")] == []


def _statuses(summary: driver.RunSummary) -> dict[str, str]:
    return {f.source: f.status for f in summary.files}


def test_the_same_bytes_under_two_names_are_read_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = _batch(tmp_path / "in")
    (tmp_path / "in" / "copy of scan-1.png").write_bytes(first.read_bytes())
    summary = _run(tmp_path / "in", tmp_path / "archive")
    assert _statuses(summary) == {"copy of scan-1.png": "done", "scan-1.png": "skipped", "scan-2.png": "done"}
    twin = next(f for f in summary.files if f.status == "skipped")
    assert twin.error == "same bytes as copy of scan-1.png"
    run_summary(summary, tmp_path / "archive")
    assert "  scan-1.png: same bytes as copy of scan-1.png" in capsys.readouterr().out
    index = Index.from_url(f"sqlite:///{tmp_path / 'archive' / 'index.sqlite'}")
    with index.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM files").scalar() == 2  # one row for the two names
    index.close()
    again = _run(tmp_path / "in", tmp_path / "archive")
    assert set(_statuses(again).values()) == {"skipped"} and summary.ok and again.ok
    assert {f.error for f in again.files} == {"same bytes as copy of scan-1.png", "same bytes as scan-2.png"}


@pytest.mark.parametrize("where", ["original", "page"])
def test_disk_full_mid_write_leaves_nothing_half_stored_and_the_next_run_finishes(tmp_path: Path, where: str) -> None:
    files = _batch(tmp_path / "in")
    archive = tmp_path / "archive"
    victim = files[0].name
    from digitize.page.ingest import sha256_of

    sha = sha256_of(files[0])[0]
    prefix = "originals/" if where == "original" else f"pages/{sha}/"
    store = FullDisk(archive / "objects", lambda key: key.startswith(prefix) and sha in key)
    summary = _run(tmp_path / "in", archive, store)
    assert store.refused  # the disk did fill up mid-write
    status = _statuses(summary)
    assert status["scan-2.png"] == "done" and status[victim] == "failed"  # the batch went on
    failed = next(f for f in summary.files if f.source == victim)
    assert "No space left on device: free some space and run again" in (failed.error or "")
    assert "\n" not in (failed.error or "")
    if where == "original":
        assert failed.error.startswith("cannot store it in the archive")
    else:
        assert "cannot store page 1 in the archive" in (failed.error or "")
    _intact(archive)
    assert not any(p.name.startswith(sha) for p in (archive / "objects" / "originals").rglob("*")) or where == "page"
    assert not (archive / "objects" / "pages" / sha / "0001.json").exists()
    again = _run(tmp_path / "in", archive)  # space freed: the same command finishes the work
    assert _statuses(again) == {victim: "done", "scan-2.png": "skipped"}, [f.error for f in again.files]
    _intact(archive)


def test_disk_full_under_the_index(tmp_path: Path) -> None:
    """SQLite finds no room for the index (its page limit stands for the disk): a clear StorageError,
    the write rolled back whole, the index intact and usable once there is room."""
    import sqlalchemy as sa

    (tmp_path / "objects").mkdir()
    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    index = Index.from_url(url)
    with index.engine.connect() as conn:
        used = conn.exec_driver_sql("PRAGMA page_count").scalar()
    sa.event.listen(index.engine, "connect", lambda dbapi, _rec: dbapi.execute(f"PRAGMA max_page_count={used + 20}"))
    index.engine.dispose()
    file = {"size": 1, "kind": "png", "page_count": 1, "status": "processing", "original_key": "k"}
    tried = []
    with pytest.raises(StorageError, match="the archive's disk is full"):  # a write needing new pages
        for i in range(1000):
            tried.append(f"{i:064d}")
            index.upsert_file(tried[-1], source=f"{i}-" + "x" * 3000, **file)
    stored = {r["sha256"] for r in index.list_files()}
    assert stored == set(tried[:-1])  # every write before the full one kept, the full one not at all
    index.close()
    _intact(tmp_path)
    again = Index.from_url(url)  # room again
    again.upsert_file("f" * 64, source="after.png", **file)
    assert again.get_file("f" * 64)["source"] == "after.png"
    again.close()


def test_index_locked_by_another_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _batch(tmp_path / "in")
    archive = tmp_path / "archive"
    archive.mkdir()
    db = archive / "index.sqlite"
    index = Index.from_url(f"sqlite:///{db}", lock_timeout=0.5)  # the run has opened the index ...
    holder = subprocess.Popen(  # ... then another process takes the write lock and keeps it
        [sys.executable, "-c", "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); c.execute('CREATE TABLE held (x)'); print('locked', flush=True)\n"
         "sys.stdin.read(); c.execute('ROLLBACK')"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        summary = _run(tmp_path / "in", archive, index=index)
        assert _statuses(summary) == {"scan-1.png": "failed", "scan-2.png": "failed"}  # each told, none lost
        for f in summary.files:
            assert f.error and f.error.startswith("cannot store it in the archive: the archive's index is locked "
                                                  "by another process")
        run_summary(summary, archive)
        assert "scan-2.png: cannot store it in the archive: the archive's index is locked" in capsys.readouterr().out
        with pytest.raises(StorageError, match="index is locked by another process"):  # opening it meanwhile
            Index.from_url(f"sqlite:///{db}", lock_timeout=0.2).upsert_file(
                "0" * 64, source="x", size=1, kind="png", page_count=1, status="queued", original_key="k")
    finally:
        holder.communicate("", timeout=10)
        index.close()
    _intact(archive)
    again = _run(tmp_path / "in", archive)  # the lock is gone: the same command does the work
    assert set(_statuses(again).values()) == {"done"}
    _intact(archive)
