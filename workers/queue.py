"""The work queues: job ids, submission (each job once), and ``digitize enqueue``.

Jobs carry a file's sha256 and a page number, never images. Job ids are deterministic
(``ingest-<sha16>``, ``page-<sha16>-<page>``, ``finish-<sha16>``) and enqueued with rq's atomic
``unique`` check, so a job is never queued twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digitize.config import Settings
from digitize.errors import InputError
from digitize.page.ingest import discover, sha256_of
from workers.cluster import Cluster

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

QUEUE_INGEST, QUEUE_OCR, QUEUE_EXTRACT = "ingest", "ocr", "extract"
QUEUES = (QUEUE_EXTRACT, QUEUE_OCR, QUEUE_INGEST)  # a worker's priority: finish files before starting new ones
JOB_INGEST, JOB_PAGE, JOB_FINISH = "workers.jobs.ingest", "workers.jobs.ocr_page", "workers.jobs.finish"
PAGE_FAILED = "workers.jobs.page_failed"  # failure callback of page jobs
RESULT_TTL = 3600  # finished jobs stay visible (status, pages/min) for an hour
FAILURE_TTL = 7 * 24 * 3600  # failed jobs stay in the failed registry for a week
UNFINISHED = ("queued", "processing")


def ingest_job_id(sha256: str) -> str:
    """The id of a file's ingest job."""
    return f"ingest-{sha256[:16]}"


def page_job_id(sha256: str, page: int) -> str:
    """The id of a page's OCR job."""
    return f"page-{sha256[:16]}-{page:04d}"


def finish_job_id(sha256: str) -> str:
    """The id of a file's finish (extract) job."""
    return f"finish-{sha256[:16]}"


def _retry(settings: Settings) -> Any:
    from rq import Retry

    if settings.job_retries <= 0:
        return None
    return Retry(max=settings.job_retries, interval=list(settings.job_retry_delays) or 0)


_LIVE = ("queued", "started", "scheduled", "deferred")


def submit(cluster: Cluster, queue: str, func: str, args: Sequence[Any], job_id: str,
           on_failure: str | None = None) -> bool:
    """Enqueue ``func(*args)`` as job ``job_id`` unless that job is already queued or running.

    A job with this id that already ended (finished, failed, stopped) is replaced: callers only submit
    work the index says is still to do. Returns True when a job was enqueued."""
    from rq import Callback
    from rq.exceptions import DuplicateJobError, NoSuchJobError
    from rq.job import Job

    q = cluster.queue(queue)
    for _ in range(3):
        try:
            q.enqueue_call(func, args=tuple(args), job_id=job_id, unique=True, retry=_retry(cluster.settings),
                           timeout=cluster.settings.job_timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                           description=f"{func.rsplit('.', 1)[-1]} {job_id}",
                           on_failure=Callback(on_failure) if on_failure else None)
            return True
        except DuplicateJobError:
            try:
                job = Job.fetch(job_id, connection=cluster.redis)
                state = job.get_status(refresh=True)
            except NoSuchJobError:
                continue  # it just expired: try again
            if str(getattr(state, "value", state)) in _LIVE:
                return False
            job.delete()
    return False


def submit_ingest(cluster: Cluster, sha256: str) -> str:
    """Queue a stored file's ingest job; returns the job id (usable as the API's ``on_import``)."""
    job_id = ingest_job_id(sha256)
    submit(cluster, QUEUE_INGEST, JOB_INGEST, (sha256,), job_id)
    return job_id


def submit_pages(cluster: Cluster, sha256: str, page_numbers: Iterable[int]) -> int:
    """Queue page jobs; returns how many were enqueued (the others were queued or running already)."""
    return sum(submit(cluster, QUEUE_OCR, JOB_PAGE, (sha256, p), page_job_id(sha256, p), on_failure=PAGE_FAILED)
               for p in page_numbers)


def submit_finish(cluster: Cluster, sha256: str) -> bool:
    """Queue a file's finish job once: not when it is queued or running, nor when the file is done."""
    row = cluster.index.get_file(sha256)
    if row is None or row["status"] == "done":
        return False
    return submit(cluster, QUEUE_EXTRACT, JOB_FINISH, (sha256,), finish_job_id(sha256))


def pending_jobs(redis: Redis, queue_names: Sequence[str]) -> int:
    """Jobs waiting, scheduled for a retry or running in the given queues."""
    from rq import Queue
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    n = 0
    for name in queue_names:
        q = Queue(name, connection=redis)
        n += q.count + ScheduledJobRegistry(queue=q).count + len(StartedJobRegistry(queue=q).get_job_ids(cleanup=False))
    return n


@dataclass
class EnqueueReport:
    """What ``enqueue`` did with each file found."""

    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already done or queued, or the same bytes twice
    failed: list[str] = field(default_factory=list)  # rejected (empty, not a scan); quarantined


def enqueue_paths(paths: Sequence[Path], cluster: Cluster) -> EnqueueReport:
    """Store the originals of every file under ``paths`` and queue their ingest jobs."""
    from digitize.errors import EmptyFileError
    from digitize.page.ingest import detect_kind
    from digitize.pipeline.file import Admission, admission, admit, reject

    rep = EnqueueReport()
    seen: set[str] = set()
    idx, store = cluster.index, cluster.store
    for cand in discover(list(paths)):
        try:
            sha, size = sha256_of(cand.path)
            with open(cand.path, "rb") as f:
                head = f.read(1024)
        except OSError as e:
            rep.failed.append(f"{cand.source}: cannot read the file ({e.strerror or e})")
            continue
        try:
            if size == 0:
                raise EmptyFileError("empty file (0 bytes)")
            kind = detect_kind(head)
        except InputError as e:
            reject(store, idx, sha, cand.source, cand.path, e)
            rep.failed.append(str(e))
            continue
        admitted = admission(idx.get_file(sha))
        if sha in seen or admitted in (Admission.DUPLICATE, Admission.IN_PROGRESS):
            rep.skipped.append(f"{cand.source}: same bytes as another file" if sha in seen
                               else f"{cand.source}: already processed" if admitted is Admission.DUPLICATE
                               else f"{cand.source}: already queued (`digitize reconcile` queues again what "
                                    "Redis lost)")
            continue
        seen.add(sha)
        admit(store, idx, sha256=sha, source=cand.source, path=cand.path, kind=kind, size=size, status="queued")
        submit_ingest(cluster, sha)
        rep.queued.append(cand.source)
        log.info("%s: queued (sha256 %s)", cand.source, sha[:12])
    return rep
