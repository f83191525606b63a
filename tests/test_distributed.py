"""Distributed mode end to end, with real services: redis-server, SeaweedFS (S3) and PostgreSQL.

Workers are real ``digitize worker`` processes. Every test ends by checking the whole final state:
the same export records as the embedded ``digitize run`` on the same inputs (contract 2), every page
of every file in the index, no duplicate documents, and exactly the objects the index accounts for
(no orphans, no page intermediates left behind).
"""

from __future__ import annotations

import contextlib
import io
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
from workers.localservers import RedisServer, S3Endpoint, SeaweedS3, ServiceUnavailable

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
        env = dict(self.env, DIGITIZE_CACHE_DIR=str(self.tmp / f"cache-{n}"))
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
            rc = p.wait(max(1.0, deadline - time.monotonic()))
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


@pytest.fixture
def cluster(tmp_path: Path, redis_server: str, s3_server: S3Endpoint, postgres_db_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    yield from make_cluster(tmp_path, redis_server, s3_server, postgres_db_url)


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
        assert FailedJobRegistry(q, connection=c.redis).count == 0


# --- the tests -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_batch(tmp_path_factory.mktemp("batch"), singles=1)


def test_two_workers_give_the_embedded_records_and_a_failing_job_does_not_stop_the_batch(
        cluster: Cluster, small_batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from storage import layout
    from workers import queue as distributed
    from workers.status import status

    expected = embedded_records(small_batch, tmp_path, monkeypatch)
    assert {r["source"] for r in expected} == {"box/two_docs.pdf", "000.00.13.H56-210615-0001.jpg", "single-00.png"}
    cluster.apply(monkeypatch)
    assert main(["enqueue", str(small_batch)]) == 1  # empty.pdf rejected
    c = cluster.open()
    # corrupt one stored original: its ingest job fails (sha256 check), is retried, then lands in the
    # failed registry with the reason; the rest of the batch goes on
    bad = next(r for r in c.index.list_files() if r["source"] == "single-00.png")
    c.store.put_bytes(bad["original_key"], b"\x89PNG\r\n\x1a\n not the scanned bytes")
    t0 = time.monotonic()
    cluster.wait([cluster.worker("--burst"), cluster.worker("--burst")])
    elapsed = time.monotonic() - t0
    failed = FailedJobRegistry(distributed.QUEUE_INGEST, connection=c.redis)
    assert failed.get_job_ids() == [distributed.ingest_job_id(bad["sha256"])]
    job = Job.fetch(failed.get_job_ids()[0], connection=c.redis)
    assert "does not match its sha256" in (job.latest_result().exc_string or "")
    done = {r["source"]: r["status"] for r in c.index.list_files()}
    assert done["box/two_docs.pdf"] == done["000.00.13.H56-210615-0001.jpg"] == "done"
    assert done["single-00.png"] == "queued"
    # status reads the queues and the index
    st = status(c)
    assert st["queues"]["ingest"]["failed"] == 1 and st["queues"]["ocr"]["finished"] >= 3
    assert st["pages_per_minute"] > 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "ingest" in out and "pages/min" in out and "1 queued" in out
    # the operator puts the right bytes back and retries: the file completes
    c.store.put_file(bad["original_key"], small_batch / "single-00.png")
    assert main(["retry-failed"]) == 0
    cluster.wait([cluster.worker("--burst")])
    check_final(cluster, expected, monkeypatch)
    sys.stderr.write(f"\n[distributed] 2 workers: first round {elapsed:.1f}s\n")

    # the index can be rebuilt from object storage alone
    from workers.localservers import fresh_database

    server = cluster.env["DIGITIZE_INDEX_URL"]
    with fresh_database(server) as url:
        monkeypatch.setenv("DIGITIZE_INDEX_URL", url)
        assert main(["reindex"]) == 0
        assert export(tmp_path, []) == expected
        from storage.index import Index

        idx = Index.from_url(url)
        assert {r["source"]: r["status"] for r in idx.list_files()} == {
            "box/two_docs.pdf": "done", "000.00.13.H56-210615-0001.jpg": "done", "single-00.png": "done",
            "empty.pdf": "failed", "broken.pdf": "failed"}
        assert idx.counts()["pages"] == 4
        idx.close()
    assert layout.file_record_key(bad["sha256"]) in set(c.store.list("files/"))


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_batch(tmp_path_factory.mktemp("big"), singles=4)


@pytest.mark.slow
def test_kill_9_of_a_worker_mid_job_is_recovered(cluster: Cluster, big_batch: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rq.job import Job

    expected = embedded_records(big_batch, tmp_path, monkeypatch)
    heartbeat = int(os.environ.get("DIGITIZE_TEST_JOB_HEARTBEAT", "1"))  # e.g. 5 / 30 to time the defaults
    stale = int(os.environ.get("DIGITIZE_TEST_JOB_STALE_AFTER", "5"))
    cluster.env.update(DIGITIZE_JOB_HEARTBEAT=str(heartbeat), DIGITIZE_JOB_STALE_AFTER=str(stale))
    cluster.apply(monkeypatch)
    assert main(["enqueue", str(big_batch)]) == 1
    c = cluster.open()
    job_id, victim_name = kill_mid_page(cluster, c)
    killed_at = time.monotonic()
    rescuer = cluster.worker()

    def picked_up_again() -> bool:
        job = Job.fetch(job_id, connection=c.redis)
        return bool(job.worker_name) and job.worker_name != victim_name and \
            job.get_status() in ("started", "finished")

    wait_for("the abandoned job to run again", picked_up_again, timeout=stale + 120, step=0.1)
    recovery = time.monotonic() - killed_at
    sys.stderr.write(f"\n[distributed] kill -9: job {job_id} running again after {recovery:.1f}s "
                     f"(heartbeat {heartbeat}s, stale after {stale}s)\n")  # a figure, not a timed assertion
    wait_for("every file finished", lambda: all(r["status"] in ("done", "failed") for r in c.index.list_files())
             and not distributed_pending(c), timeout=300, step=0.5)
    rescuer.send_signal(signal.SIGTERM)
    rescuer.wait(60)
    check_final(cluster, expected, monkeypatch)


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


@pytest.mark.slow
def test_a_page_whose_worker_always_dies_fails_alone(cluster: Cluster, big_batch: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """No retry left: the job lands in the failed registry, its page is recorded as failed (as the
    embedded driver does), the file is finished without it and the batch goes on; retry-failed
    then completes it."""
    from rq.registry import FailedJobRegistry

    from workers.status import status

    expected = embedded_records(big_batch, tmp_path, monkeypatch)
    cluster.env["DIGITIZE_JOB_RETRIES"] = "0"
    cluster.apply(monkeypatch)
    assert main(["enqueue", str(big_batch)]) == 1
    c = cluster.open()
    job_id, _ = kill_mid_page(cluster, c)
    cluster.wait([cluster.worker("--burst")])
    failed = FailedJobRegistry("ocr", connection=c.redis)
    assert failed.get_job_ids() == [job_id]
    rows = {r["source"]: r for r in c.index.list_files()}
    broken = [r for r in rows.values() if r["status"] == "failed" and r["source"] not in REJECTED]
    assert len(broken) == 1 and broken[0]["pages_failed"] == 1 and "worker died" in broken[0]["error_message"]
    assert sum(r["status"] == "done" for r in rows.values()) == len(rows) - 3  # the rest of the batch went on
    docs = list(c.index.list_documents(sha256=broken[0]["sha256"], kind=None))
    assert any("failed" in " ".join(d.reasons) for d in docs) or not docs
    assert main(["retry-failed"]) == 0
    cluster.wait([cluster.worker("--burst")])
    check_final(cluster, expected, monkeypatch)
    assert status(c)["queues"]["ocr"]["failed"] == 0


def distributed_pending(c: Any) -> int:
    from workers import queue as distributed

    return distributed.pending_jobs(c.redis, distributed.QUEUES)


@pytest.mark.slow
def test_s3_outage_mid_batch(tmp_path: Path, redis_server: str, postgres_db_url: str, big_batch: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    try:
        s3 = SeaweedS3(tmp_path / "s3")
    except ServiceUnavailable as e:
        from tests.conftest import service_missing

        service_missing(str(e))  # fails in CI, as the shared service fixtures do
    expected = embedded_records(big_batch, tmp_path, monkeypatch)
    redis.Redis.from_url(redis_server).flushdb()
    with s3:
        for cl in make_cluster(tmp_path, redis_server, s3.endpoint, postgres_db_url):
            cl.apply(monkeypatch)
            assert main(["enqueue", str(big_batch)]) == 1
            c = cl.open()
            workers = [cl.worker("--burst"), cl.worker("--burst")]
            wait_for("two pages done", lambda c=c: pages_recorded(c) >= 2, timeout=180)
            s3.stop()
            t0 = time.monotonic()
            time.sleep(8)
            s3.start()
            sys.stderr.write(f"\n[distributed] S3 down for {time.monotonic() - t0:.1f}s\n")
            cl.wait(workers)
            check_final(cl, expected, monkeypatch)


@pytest.mark.slow
def test_redis_restart_then_reconcile(tmp_path: Path, s3_server: S3Endpoint, postgres_db_url: str,
                                      big_batch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        rs = RedisServer(tmp_path / "redis")
    except ServiceUnavailable as e:
        from tests.conftest import service_missing

        service_missing(str(e))  # fails in CI, as the shared service fixtures do
    expected = embedded_records(big_batch, tmp_path, monkeypatch)
    with rs:
        for cl in make_cluster(tmp_path, rs.url, s3_server, postgres_db_url):
            cl.apply(monkeypatch)
            assert main(["enqueue", str(big_batch)]) == 1
            c = cl.open()
            w = cl.worker()
            wait_for("a file done and more pages", lambda c=c: any(r["status"] == "done" for r in c.index.list_files())
                     and pages_recorded(c) >= 4, timeout=240)
            cl.kill(w)
            rs.restart()  # no persistence: every queue, job and registry is gone
            assert distributed_pending(c) == 0
            assert main(["reconcile"]) == 0
            queued = distributed_pending(c)
            assert queued == sum(1 for r in c.index.list_files() if r["status"] in ("queued", "processing")) > 0
            assert main(["reconcile"]) == 0  # twice is harmless: nothing is queued twice
            assert distributed_pending(c) == queued
            cl.wait([cl.worker("--burst")])
            check_final(cl, expected, monkeypatch)


_PDF_SHA = """
import hashlib, numpy as np
from digitize.page.pdf import merge_pages, page_pdf
from digitize.page.tesseract.ocr import ocr_page
img = np.full((400, 300), 255, np.uint8); img[100:110, 50:250] = 0
text = ocr_page(img, dpi=100, lang="vie", timeout=60).text_pdf
print(hashlib.sha256(merge_pages([page_pdf(img, is_color=False, dpi=100, text_pdf=text)], title="t")).hexdigest())
"""


def test_document_pdfs_are_reproducible_across_processes() -> None:
    """Same page, same bytes in every process (overlay names and the ICC header are not random)."""
    from PIL import ImageCms

    from digitize.page.pdf import srgb_icc

    assert ImageCms.getProfileName(ImageCms.ImageCmsProfile(io.BytesIO(srgb_icc()))).strip()
    shas = {subprocess.run([sys.executable, "-c", _PDF_SHA], capture_output=True, text=True, check=True,
                           cwd=ROOT).stdout.strip() for _ in range(2)}
    assert len(shas) == 1


@pytest.mark.slow
def test_a_job_longer_than_the_stale_bound_keeps_its_heartbeat(redis_server: str, tmp_path: Path) -> None:
    """Jobs run in the worker process; its heartbeat thread keeps a long job from being taken for
    abandoned (and run twice) while another worker reaps at the tightest allowed bound."""
    import redis
    from rq import Queue
    from rq.job import Job

    from workers.queue import QUEUES
    from workers.recovery import REAPER_LOCK, reap_abandoned

    conn = redis.Redis.from_url(redis_server)
    conn.flushdb()
    job = Queue("extract", connection=conn).enqueue(time.sleep, 6, job_id="long-job", result_ttl=600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env.update(DIGITIZE_REDIS_URL=redis_server, DIGITIZE_ARCHIVE=str(tmp_path / "archive"),
               DIGITIZE_OBJECT_STORE="local", DIGITIZE_JOB_HEARTBEAT="1", DIGITIZE_JOB_STALE_AFTER="3",
               PYTHONPATH=str(ROOT))
    worker = subprocess.Popen([sys.executable, "-m", "digitize", "worker", "--burst", "--queue", "extract"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reaped: list[str] = []
    wait_for("the job to start", lambda: Job.fetch(job.id, connection=conn).get_status() == "started", timeout=60)
    started = time.monotonic()
    while worker.poll() is None and time.monotonic() - started < 60:
        reaped += reap_abandoned(conn, QUEUES, heartbeat=1, stale_after=3)
        conn.delete(REAPER_LOCK)  # reap at every step, not once a heartbeat
        time.sleep(0.25)
    out = worker.communicate()[0].decode(errors="replace")
    assert worker.returncode == 0, out
    assert reaped == []
    assert Job.fetch(job.id, connection=conn).get_status() == "finished"
    assert time.monotonic() - started >= 5  # it ran once, to its end


def test_a_scan_uploaded_to_the_api_is_processed_by_the_workers(cluster: Cluster, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from digitize.api.app import create_app
    from digitize.api.server import import_hooks
    from storage import access

    cluster.env["DIGITIZE_API_QUEUE"] = "1"
    cluster.apply(monkeypatch)
    settings = cluster.settings()
    c = cluster.open()
    on_import, queue_depth = import_hooks(settings, c.index, c.store)
    assert on_import is not None and queue_depth is not None
    app = create_app(settings, c.index, c.store, on_import=on_import, queue_depth=queue_depth)
    clerk = {"X-API-Key": access.create_key(c.index, "clerk-1", "clerk")}
    save_pdf(render(DocSpec(number="77/QĐ-UBND"), dpi=DPI).pages, tmp_path / "scan.pdf", dpi=DPI)
    with TestClient(app) as client:
        r = client.post("/api/v1/documents/import", headers=clerk,
                        files={"file": ("scan.pdf", (tmp_path / "scan.pdf").read_bytes(), "application/pdf")})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert queue_depth() == 1  # the ingest job waits for a worker
        cluster.wait([cluster.worker("--burst")])
        job = client.get(f"/api/v1/jobs/{job_id}", headers=clerk).json()
        assert job["status"] == "done" and job["pages_done"] == 1 and len(job["documents"]) == 1, job
        assert queue_depth() == 0
        doc = client.get(f"/api/v1/documents/{job['documents'][0]}", headers=clerk).json()
        assert doc["metadata"]["number"] == "77/QĐ-UBND", doc
