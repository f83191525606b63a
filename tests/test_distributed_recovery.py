"""Distributed mode's recovery, with real services: a worker killed mid-job, a page whose worker always
dies, an S3 outage and a Redis restart in the middle of a batch. Each test ends with the whole final state
checked against the embedded ``digitize run`` (tests/clusterenv.py: ``check_final``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from digitize.cli import main
from tests.clusterenv import (
    REJECTED,
    Cluster,
    check_final,
    distributed_pending,
    embedded_records,
    kill_mid_page,
    make_cluster,
    pages_recorded,
    wait_for,
)
from workers.localservers import RedisServer, S3Endpoint, SeaweedS3, ServiceUnavailable


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
