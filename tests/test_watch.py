"""``digitize watch``: a slow writer's file is taken once, whole; restarts redo nothing and miss nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from digitize.config import Settings
from digitize.embedded.watch import Watcher, WatchOptions, WatchState, embedded_processor, open_for_writing
from digitize.samples.documents import DocSpec, render, save_pdf
from storage.index import Index
from storage.objects import LocalObjectStore

ROOT = Path(__file__).resolve().parent.parent
_LOG_PAGES_HOOK = """
from pathlib import Path

import digitize.pipeline.page as _page

_process_page = _page.process_page


def _logged(task, *args, **kwargs):
    with open({log!r}, "a") as f:
        f.write(f"{{Path(task.path).name}}\\t{{task.page}}\\n")
    return _process_page(task, *args, **kwargs)


_page.process_page = _logged
"""
DPI = 200


def scan(path: Path, number: str) -> bytes:
    save_pdf(render(DocSpec(number=number), dpi=DPI).pages, path, dpi=DPI)
    return path.read_bytes()


def watch_cmd(archive: Path, folder: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "digitize", "--archive", str(archive), "watch", str(folder), "--settle", "0.5",
            "--poll", "0.2", "--jobs", "1", *extra]


def state_of(archive: Path) -> dict[str, dict]:
    files = list((archive / "watch").glob("*.json"))
    return json.loads(files[0].read_text(encoding="utf-8"))["files"] if files else {}


def test_open_for_writing_sees_a_writer_and_not_a_reader(tmp_path: Path) -> None:
    p = tmp_path / "f.pdf"
    p.write_bytes(b"x")
    with open(p, "rb"):
        assert open_for_writing({p}) == set()
    with open(p, "ab"):
        assert open_for_writing({p}) == {p}
    assert open_for_writing({p}) == set()


def test_a_slow_writer_is_processed_once_and_whole(tmp_path: Path) -> None:
    data = scan(tmp_path / "source.pdf", "21/QĐ-UBND")
    folder, archive = tmp_path / "inbox", tmp_path / "archive"
    folder.mkdir()
    settings = Settings(archive=archive, jobs=1)
    archive.mkdir()
    index = Index.from_url(settings.index_db_url())
    store = LocalObjectStore(archive / "objects")
    calls: list[list[str]] = []
    process = embedded_processor(settings, index, store)

    def counting(batch):  # type: ignore[no-untyped-def]
        calls.append([c.source for c in batch])
        return process(batch)

    # settle (0.3 s) is shorter than the writer's pauses (1.2 s): only the open-for-writing check keeps
    # the half-written file from being taken
    watcher = Watcher(WatchOptions(folder, settle=0.3, poll=0.1), WatchState.load(archive, folder), counting)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        chunks = [data[i:i + len(data) // 4 + 1] for i in range(0, len(data), len(data) // 4 + 1)]
        with open(folder / "scan.pdf", "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                f.flush()
                time.sleep(1.2)
        deadline = time.monotonic() + 120
        while not calls or watcher.pending():
            assert time.monotonic() < deadline, "the file was never taken"
            time.sleep(0.2)
        time.sleep(1.0)  # a few more polls: nothing is taken again
    finally:
        watcher.stop.set()
        thread.join(60)
    assert calls == [["scan.pdf"]]
    files = index.list_files()
    assert [(f["source"], f["status"], f["sha256"]) for f in files] == [
        ("scan.pdf", "done", hashlib.sha256(data).hexdigest())]
    assert len(list(index.list_documents())) == 1
    assert state_of(archive)["scan.pdf"]["status"] == "done"


def test_restart_mid_folder_and_a_file_dropped_while_down(tmp_path: Path) -> None:
    folder, archive, done = tmp_path / "inbox", tmp_path / "archive", tmp_path / "done"
    folder.mkdir()
    for i in range(3):
        scan(folder / f"scan-{i}.pdf", f"{30 + i}/QĐ-UBND")
    old = time.time() - 60
    for p in folder.iterdir():
        os.utime(p, (old, old))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(watch_cmd(archive, folder), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    pages = archive / "objects" / "pages"
    while not (pages.exists() and list(pages.rglob("*.json"))):  # killed once the first page is stored
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert len(state_of(archive)) < 3  # stopped mid-folder
    by_sha = {f["sha256"]: f["source"] for f in Index.from_url(f"sqlite:///{archive / 'index.sqlite'}").list_files()}
    stored_before = {(by_sha[p.parent.name], int(p.stem)) for p in pages.rglob("*.json")}
    assert stored_before
    # restart: takes what is left (the batch cut short resumes from its stored pages); every page read is
    # logged by a hook in the restarted run (page objects of finished files are dropped: they cannot tell)
    hook, log = tmp_path / "hook", tmp_path / "pages-read.log"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_LOG_PAGES_HOOK.format(log=str(log)))
    res = subprocess.run(watch_cmd(archive, folder, "--once", "--done-dir", str(done)),
                         env=env | {"PYTHONPATH": f"{hook}{os.pathsep}{ROOT}"}, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    read_again = {(name, int(page)) for name, page in (ln.split("\t") for ln in log.read_text().splitlines())}
    assert read_again and not read_again & stored_before  # the rest was read, no stored page redone
    first = state_of(archive)
    assert {k: v["status"] for k, v in first.items()} == {f"scan-{i}.pdf": "done" for i in range(3)}
    assert sorted(p.name for p in done.iterdir()) == ["scan-0.pdf", "scan-1.pdf", "scan-2.pdf"]
    assert not list(folder.iterdir())
    # a file dropped while the watcher was down is picked up by the next start; nothing else is touched
    scan(folder / "late.pdf", "40/QĐ-UBND")
    os.utime(folder / "late.pdf", (old, old))
    res = subprocess.run(watch_cmd(archive, folder, "--once"), env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "late.pdf: done" in res.stderr and "scan-0.pdf" not in res.stderr
    second = state_of(archive)
    assert {k: second[k] for k in first} == first and second["late.pdf"]["status"] == "done"
    assert (folder / "late.pdf").exists()  # no --done-dir this time: the original is left
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    assert sorted(f["source"] for f in index.list_files()) == ["late.pdf", "scan-0.pdf", "scan-1.pdf", "scan-2.pdf"]
    assert len(list(index.list_documents())) == 4  # one each, no duplicates
    # and once more: nothing to do
    res = subprocess.run(watch_cmd(archive, folder, "--once"), env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and ": done" not in res.stderr


def test_a_completion_marker_is_waited_for(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 not finished")
    taken: list[str] = []
    w = Watcher(WatchOptions(folder, settle=0, poll=0.01, marker=".done"), WatchState.load(tmp_path, folder),
                lambda batch: {c.source: taken.append(c.source) or "done" for c in batch})
    assert w.poll_once() == {} and taken == []
    (folder / "a.pdf.done").write_text("")
    assert w.poll_once() == {"a.pdf": "done"} and not (folder / "a.pdf.done").exists()
    assert w.poll_once() == {} and taken == ["a.pdf"]


@pytest.mark.parametrize("inside", ["done", ".done"])
def test_done_dir_inside_the_folder_must_be_hidden(tmp_path: Path, inside: str) -> None:
    from digitize.cli import main

    folder = tmp_path / "inbox"
    folder.mkdir()
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    rc = main(["--archive", str(tmp_path / "a"), "watch", str(folder), "--once", "--done-dir", str(folder / inside)])
    assert rc == (3 if inside == "done" else 0)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # Ctrl-C works again


def test_distributed_mode_queues_each_file_once(tmp_path: Path, redis_server: str, s3_server, postgres_db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import redis
    from rq import Queue

    from workers.queue import QUEUE_INGEST, ingest_job_id

    conn = redis.Redis.from_url(redis_server)
    conn.flushdb()
    folder = tmp_path / "inbox"
    folder.mkdir()
    data = scan(folder / "a.pdf", "50/QĐ-UBND")
    (folder / "empty.pdf").write_bytes(b"")
    old = time.time() - 60
    for p in folder.iterdir():
        os.utime(p, (old, old))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")} | {
        "PYTHONPATH": str(ROOT), "DIGITIZE_OBJECT_STORE": "s3", "DIGITIZE_S3_ENDPOINT": s3_server.endpoint,
        "DIGITIZE_S3_ACCESS_KEY": s3_server.access_key, "DIGITIZE_S3_SECRET_KEY": s3_server.secret_key,
        "DIGITIZE_S3_BUCKET": "watch-" + tmp_path.name[-8:].lower().replace("_", "-"),
        "DIGITIZE_INDEX_URL": postgres_db_url, "DIGITIZE_REDIS_URL": redis_server,
        "DIGITIZE_ARCHIVE": str(tmp_path / "archive")}
    cmd = [sys.executable, "-m", "digitize", "watch", str(folder), "--once", "--settle", "0.5", "--poll", "0.2"]
    for _ in range(2):  # the second start finds everything handled
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
    queue = Queue(QUEUE_INGEST, connection=conn)
    assert queue.job_ids == [ingest_job_id(hashlib.sha256(data).hexdigest())]
    state = state_of(tmp_path / "archive")
    assert {k: v["status"] for k, v in state.items()} == {"a.pdf": "queued", "empty.pdf": "failed"}
    assert res.stderr.count("queued for the workers") == 0  # nothing a second time
