"""Distributed mode end to end, with real services: redis-server, SeaweedFS (S3) and PostgreSQL.

Workers are real ``digitize worker`` processes. Every test ends by checking the whole final state:
the same export records as the embedded ``digitize run`` on the same inputs (contract 2), every page
of every file in the index, no duplicate documents, and exactly the objects the index accounts for
(no orphans, no page intermediates left behind).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitize.cli import main
from digitize.samples.documents import DocSpec, render, save_pdf
from tests.clusterenv import (
    DPI,
    ROOT,
    Cluster,
    check_final,
    embedded_records,
    export,
    make_batch,
    wait_for,
)


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
