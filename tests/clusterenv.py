"""Distributed mode's test environment: inputs, the embedded reference, a cluster of real ``digitize worker``
processes on real services, and the checks of a batch's final state (used by tests/test_distributed*.py)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from digitize.cli import main
from digitize.samples.documents import DocSpec, cong_van, render, save_pdf
from workers.localservers import S3Endpoint

DPI = 150
REJECTED = ("empty.pdf", "broken.pdf")  # as in `digitize run`: quarantined, recorded failed
ROOT = Path(__file__).resolve().parent.parent


# --- inputs and the embedded reference -------------------------------------------------------------


def make_batch(root: Path, singles: int = 0) -> Path:
    """A two-document PDF, a photo whose dossier code is its file name, an empty file (rejected),
    and ``singles`` more one-page scans."""
    (root / "box").mkdir(parents=True)
    qd, cv = render(DocSpec(), dpi=DPI), render(cong_van(), dpi=DPI)
    save_pdf(qd.pages + cv.pages, root / "box" / "two_docs.pdf", dpi=DPI)
    cv.pages[0].convert("RGB").save(root / "000.00.13.H56-210615-0001.jpg", quality=85, dpi=(DPI, DPI))
    (root / "empty.pdf").write_bytes(b"")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntruncated")  # rejected by ingest
    for i in range(singles):
        spec = DocSpec(number=f"{100 + i}/QĐ-UBND", signer=["Lê Văn Hùng", "Phạm Thị Lan", "Đỗ Minh Tuấn"][i % 3])
        render(spec, dpi=DPI).pages[0].save(root / f"single-{i:02d}.png", dpi=(DPI, DPI))
    return root


def export(tmp: Path, args: list[str]) -> list[dict[str, Any]]:
    out = tmp / f"export-{secrets.token_hex(4)}.jsonl"
    assert main([*args, "export", "--jsonl", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return sorted(recs, key=lambda r: (r["source"], r["pages"]))


_embedded_cache: dict[str, list[dict[str, Any]]] = {}


def embedded_records(batch: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The export of ``digitize run`` (embedded: local folder + SQLite) on the same inputs."""
    key = str(batch)
    if key not in _embedded_cache:
        with monkeypatch.context() as m:
            for k in [k for k in os.environ if k.startswith("DIGITIZE_")]:
                m.delenv(k)
            archive = tmp / "embedded"
            assert main(["--archive", str(archive), "run", "--no-progress", "--jobs", "2", str(batch)]) == 1
            _embedded_cache[key] = export(tmp, ["--archive", str(archive)])
    return _embedded_cache[key]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (rq's work-horse runs in its own process group)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# --- the cluster under test ---------------------------------------------------------------------------


class Cluster:
    """Environment for `digitize` commands and worker processes against the test services."""

    def __init__(self, tmp: Path, redis_url: str, s3: S3Endpoint, index_url: str) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
        self.env.update({
            "DIGITIZE_OBJECT_STORE": "s3", "DIGITIZE_S3_ENDPOINT": s3.endpoint,
            "DIGITIZE_S3_ACCESS_KEY": s3.access_key, "DIGITIZE_S3_SECRET_KEY": s3.secret_key,
            "DIGITIZE_S3_BUCKET": "d-" + secrets.token_hex(6), "DIGITIZE_INDEX_URL": index_url,
            "DIGITIZE_REDIS_URL": redis_url, "DIGITIZE_ARCHIVE": str(tmp / "archive"),
            "DIGITIZE_CACHE_DIR": str(tmp / "cache-cli"), "DIGITIZE_JOB_RETRIES": "3",
            "DIGITIZE_JOB_RETRY_DELAYS": "[1, 2, 4]", "DIGITIZE_JOB_HEARTBEAT": "1",
            "DIGITIZE_JOB_STALE_AFTER": "5", "DIGITIZE_JOB_TIMEOUT": "300", "PYTHONPATH": str(ROOT),
        })
        self.procs: list[subprocess.Popen[bytes]] = []

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point in-process `digitize` commands at the cluster."""
        for k in [k for k in os.environ if k.startswith("DIGITIZE_")]:
            monkeypatch.delenv(k)
        for k, v in self.env.items():
            if k.startswith("DIGITIZE_"):
                monkeypatch.setenv(k, v)

    def worker(self, *args: str, slow_pages: bool = False) -> subprocess.Popen[bytes]:
        """Start `digitize worker` (its own session, its own cache dir: another machine). ``slow_pages``:
        its page jobs take 30 s longer (a hook that sleeps first), so a kill lands in the middle of one."""
        n = len(self.procs)
        # PYTHONFAULTHANDLER: a worker still running at the deadline is sent SIGABRT and writes every
        # thread's stack to its log (its work-horse too: the handler survives the fork)
        env = dict(self.env, DIGITIZE_CACHE_DIR=str(self.tmp / f"cache-{n}"), PYTHONFAULTHANDLER="1")
        if slow_pages:
            hook = self.tmp / f"slow-hook-{n}"
            hook.mkdir()
            (hook / "sitecustomize.py").write_text(_SLOW_PAGE_HOOK)
            env["PYTHONPATH"] = os.pathsep.join([str(hook), env.get("PYTHONPATH", "")])
        log = open(self.tmp / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen([sys.executable, "-m", "digitize", "worker", *args], env=env, cwd=self.tmp,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def wait(self, procs: list[subprocess.Popen[bytes]], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                rc = p.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                for pid in [*descendants(p.pid), p.pid]:  # where it hangs: the stacks go to its log
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGABRT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(10)
                pytest.fail(f"worker {p.args[3:]} still running after {timeout:.0f} s; stacks and logs:\n"
                            + self.logs())
            assert rc == 0, self.logs()

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        """kill -9 the worker and every process it started (its work-horse, its scheduler): a crash."""
        victims = [p.pid, *descendants(p.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        p.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {f.name}\n" + f.read_text(errors="replace")[-4000:]
                         for f in sorted(self.tmp.glob("worker-*.log")))

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                self.kill(p)

    # clients for checks
    def settings(self) -> Any:
        from digitize.config import Settings

        values: dict[str, Any] = {k[len("DIGITIZE_"):].lower(): v for k, v in self.env.items()
                                  if k.startswith("DIGITIZE_")}
        values["job_retry_delays"] = json.loads(values["job_retry_delays"])
        return Settings(**values)

    def open(self) -> Any:
        from workers.cluster import connect

        return connect(self.settings())


def make_cluster(tmp: Path, redis_url: str, s3: S3Endpoint, index_url: str) -> Iterator[Cluster]:
    c = Cluster(tmp, redis_url, s3, index_url)
    try:
        yield c
    finally:
        c.stop_all()


# --- checks ---------------------------------------------------------------------------------------------


def wait_for(what: str, cond: Callable[[], Any], timeout: float = 120, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def pages_recorded(c: Any) -> int:
    return c.index.counts()["pages"]


def check_final(cl: Cluster, expected: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Same records as embedded, every page, no duplicates, no orphaned objects, nothing failed."""
    from rq.registry import FailedJobRegistry

    from storage import layout
    from workers import queue as distributed

    cl.apply(monkeypatch)
    got = export(cl.tmp, [])
    assert [(r["source"], r["pages"]) for r in got] == [(r["source"], r["pages"]) for r in expected]
    diffs = [(e["source"], e["pages"], k, g.get(k), e.get(k)) for g, e in zip(got, expected, strict=True)
             for k in sorted(set(g) | set(e)) if g.get(k) != e.get(k)]
    assert not diffs, diffs
    c = cl.open()
    rows = {r["source"]: r for r in c.index.list_files()}
    assert rows["empty.pdf"]["status"] == "failed" and rows["empty.pdf"]["error_reason"] == "empty_file"
    assert rows["broken.pdf"]["status"] == "failed" and rows["broken.pdf"]["error_reason"] == "corrupt"
    assert rows["broken.pdf"]["error_message"].startswith("broken.pdf: ")
    keys = set(c.store.list(""))
    want: set[str] = set()
    for src, row in rows.items():
        want.add(layout.file_record_key(row["sha256"]))
        if src in REJECTED:
            assert row["original_key"] is None
            want.add(f"quarantine/{row['sha256']}/{src}")
            continue
        assert row["status"] == "done", (src, row)
        assert row["pages_done"] == row["page_count"] > 0
        states = c.index.page_states(row["sha256"])
        assert states == {p: "done" for p in range(1, row["page_count"] + 1)}, src
        want.add(row["original_key"])
    docs = list(c.index.list_documents(kind=None))
    assert len({d.doc_id for d in docs}) == len(docs)
    assert len({(d.source, d.pages) for d in docs}) == len(docs)
    for d in docs:
        want |= {d.text_key, layout.document_key(d.doc_id, "metadata.json")} | ({d.pdf_key} if d.pdf_key else set())
        if d.dossier_id:
            want.add(layout.dossier_manifest_key(d.dossier_id))
    assert not [k for k in keys if k.startswith("pages/")], "page intermediates left behind"
    assert keys == want, {"orphans": sorted(keys - want), "missing": sorted(want - keys)}
    for q in distributed.QUEUES:
        failed = FailedJobRegistry(q, connection=c.redis)
        assert failed.count == 0, _failed_jobs(failed, c.redis)


def _failed_jobs(registry: Any, connection: Any) -> list[tuple[str, str]]:
    """The failed jobs of a registry with the last line of their error, for an assertion's message."""
    from rq.job import Job

    out = []
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=connection)
        last = (job.latest_result().exc_string if job.latest_result() else "") or ""
        out.append((job_id, last.strip().splitlines()[-1] if last.strip() else "?"))
    return out


# --- the tests -----------------------------------------------------------------------------------------------


_SLOW_PAGE_HOOK = """
import time

import workers.jobs

_ocr_page = workers.jobs.ocr_page


def _slow_ocr_page(*args, **kwargs):
    time.sleep(30)
    return _ocr_page(*args, **kwargs)


workers.jobs.ocr_page = _slow_ocr_page
"""


def kill_mid_page(cluster: Cluster, c: Any) -> tuple[str, str]:
    """Start a worker whose page jobs are slow, kill -9 it (and its work-horse) in the middle of one (a page
    is read in about half a second: without the delay the kill could land after it, in another job)."""
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    victim = cluster.worker(slow_pages=True)
    started = StartedJobRegistry("ocr", connection=c.redis)
    job_id = wait_for("a page job to start", lambda: (started.get_job_ids(cleanup=False) or [None])[0])
    time.sleep(0.5)
    victim_name = Job.fetch(job_id, connection=c.redis).worker_name
    cluster.kill(victim)
    return job_id, victim_name


def distributed_pending(c: Any) -> int:
    from workers import queue as distributed

    return distributed.pending_jobs(c.redis, distributed.QUEUES)
