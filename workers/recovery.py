"""Recovery: jobs whose worker died run again, failed work is retried, and the queues are rebuilt
from the index (the truth) after Redis lost them."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from digitize.pipeline.file import cleanup_intermediates
from workers.cluster import Cluster
from workers.queue import JOB_INGEST, QUEUE_INGEST, QUEUES, UNFINISHED, ingest_job_id, submit, submit_ingest

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

REAPER_LOCK = "digitize:reaper"


def reap_abandoned(redis: Redis, queue_names: Sequence[str], *, heartbeat: int, stale_after: int) -> list[str]:
    """Run again the jobs whose worker stopped heartbeating ``stale_after`` seconds ago (kill -9, lost
    machine). rq's own clean-up waits for the heartbeat's 60 s margin and a 10-minute maintenance
    tick; this looks at the same registry with a shorter, configurable bound. Jobs go through rq's
    retry (or to the failed registry when no retry is left). One caller at a time (a Redis lock)."""
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    if not redis.set(REAPER_LOCK, "1", nx=True, ex=max(1, heartbeat)):
        return []
    # a running job's registry score is its last heartbeat + heartbeat + 60 s (rq's margin)
    cutoff = time.time() + 60 + heartbeat - stale_after
    reaped: list[str] = []
    for name in queue_names:
        reg = StartedJobRegistry(name, connection=redis)
        expired = reg.get_expired_job_ids(cutoff)
        if not expired:
            continue
        reg.cleanup(timestamp=cutoff)  # rq's abandoned-job handling: retry, or the failed registry
        q = Queue(name, connection=redis)
        scheduled = ScheduledJobRegistry(queue=q)
        for job_id in expired:
            try:
                job = Job.fetch(job_id, connection=redis)
            except NoSuchJobError:
                continue
            if job.get_status() == JobStatus.SCHEDULED:
                # the worker died, the services did not: no back-off to wait for (nor a scheduler,
                # whose lock the dead worker may still hold for a minute)
                scheduled.remove(job)
                q.enqueue_job(job, at_front=True)
        log.warning("queue %s: %d abandoned job(s) run again: %s", name, len(expired), ", ".join(expired))
        reaped.extend(expired)
    return reaped


def retry_failed(cluster: Cluster) -> dict[str, int]:
    """Re-queue every job of the failed registries and every file the index says failed (its
    original still stored: inputs rejected as unreadable are not retried)."""
    from rq.registry import FailedJobRegistry

    counts = {"jobs": 0, "files": 0}
    for name in QUEUES:
        reg = FailedJobRegistry(queue=cluster.queue(name))
        for job_id in reg.get_job_ids():
            try:
                reg.requeue(job_id)
                counts["jobs"] += 1
            except Exception as e:  # noqa: BLE001 - a vanished job must not stop the others
                log.warning("cannot requeue %s: %s", job_id, e)
    for row in cluster.index.list_files(status="failed"):
        key = row["original_key"]
        if key and cluster.store.exists(key):
            cluster.index.upsert_file(row["sha256"], source=row["source"], size=row["size"], kind=row["kind"],
                                      page_count=row["page_count"], status="queued", original_key=key)
            submit_ingest(cluster, row["sha256"])
            counts["files"] += 1
    return counts


def reconcile(cluster: Cluster) -> dict[str, int]:
    """Re-queue everything the index says is unfinished (for when Redis lost its queues).

    Every unfinished file gets its ingest job (which queues only its missing pages, or its finish
    job); files already done whose page intermediates are still there get their finish job's
    clean-up. Jobs still queued or running are left alone, so running this twice is harmless."""
    counts = {"files": 0, "cleaned": 0}
    for status in UNFINISHED:
        for row in cluster.index.list_files(status=status):
            if submit(cluster, QUEUE_INGEST, JOB_INGEST, (row["sha256"],), ingest_job_id(row["sha256"])):
                counts["files"] += 1
    with_pages = sorted({key.split("/")[1] for key in cluster.store.list("pages/") if key.count("/") >= 2})
    for sha in with_pages:  # one listing of what intermediates exist, not one per finished file
        row = cluster.index.get_file(sha)
        if row is not None and row["status"] == "done":
            cleanup_intermediates(cluster.store, sha)
            counts["cleaned"] += 1
    return counts
