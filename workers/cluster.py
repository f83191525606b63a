"""The distributed driver: rq queues on Redis, any S3 object store, the index in PostgreSQL.

The same stage functions as the embedded driver (``process_page``, ``finish_file``) run as rq jobs
in three queues, so operators can run more OCR workers than the others:

- ``ingest`` (``workers.jobs.ingest``): check the stored original, count its pages, fan out one page
  job per page that is not done yet (or the finish job when every page is);
- ``ocr`` (``workers.jobs.ocr_page``): one page — preprocess, codes, OCR, searchable page; saves the
  page result by key and, when it was the file's last page, enqueues the finish job once;
- ``extract`` (``workers.jobs.finish``): segment, extract, assemble and store the documents, index
  them, write the file record and delete the page intermediates.

Jobs carry a file's sha256 and a page number, never images. Job ids are deterministic
(``ingest-<sha16>``, ``page-<sha16>-<page>``, ``finish-<sha16>``) and enqueued with rq's atomic
``unique`` check, so a job is never queued twice; the index and object storage are the truth, so
``reconcile`` can rebuild the queues after Redis lost them and ``reindex`` rebuilds the index.

Clients are built here from ``Settings`` (at the edge), never at import time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from digitize.config import Settings
from digitize.errors import ConfigError, InputError, IntegrityError, NotFoundError, StorageError
from digitize.models import Document, InputKind, Metadata, SourceFile, from_dict
from digitize.page.ingest import discover, sha256_of
from storage import layout
from storage.index import Index, files, pages
from storage.objects import ObjectStore, sha256_file

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

log = logging.getLogger(__name__)

QUEUE_INGEST, QUEUE_OCR, QUEUE_EXTRACT = "ingest", "ocr", "extract"
QUEUES = (QUEUE_EXTRACT, QUEUE_OCR, QUEUE_INGEST)  # a worker's priority: finish files before starting new ones
JOB_INGEST, JOB_PAGE, JOB_FINISH = "workers.jobs.ingest", "workers.jobs.ocr_page", "workers.jobs.finish"
PAGE_FAILED = "workers.jobs.page_failed"  # failure callback of page jobs
RESULT_TTL = 3600  # finished jobs stay visible (status, pages/min) for an hour
FAILURE_TTL = 7 * 24 * 3600  # failed jobs stay in the failed registry for a week
REAPER_LOCK = "digitize:reaper"
UNFINISHED = ("queued", "processing")


# --- clients -----------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """The shared services of distributed mode, built from settings at the edge."""

    settings: Settings
    redis: Redis
    index: Index
    store: ObjectStore

    def queue(self, name: str) -> Queue:
        """The rq queue ``name`` on this cluster's Redis."""
        from rq import Queue

        return Queue(name, connection=self.redis, default_timeout=self.settings.job_timeout)


def redis_client(settings: Settings) -> Redis:
    """A Redis client that retries transient connection errors with exponential backoff (~30 s)."""
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    retry = Retry(ExponentialBackoff(cap=8.0, base=0.25), 8,
                  supported_errors=(RedisConnectionError, RedisTimeoutError, TimeoutError, ConnectionError))
    return Redis.from_url(settings.redis_url, retry=retry, socket_connect_timeout=5, health_check_interval=30)


def open_store(settings: Settings) -> ObjectStore:
    """The object store the settings select (S3 for several machines; a local folder works on one)."""
    if settings.object_store == "s3":
        from storage.s3 import RetryPolicy, make_s3_store

        # patient: an S3 restart takes seconds; the job's own retries cover longer outages
        return make_s3_store(settings, retry=RetryPolicy(attempts=6, base_delay=0.5, max_delay=8.0))
    if settings.object_store == "local":
        from storage.objects import LocalObjectStore

        return LocalObjectStore(settings.archive / "objects")
    raise ConfigError(f"unknown object store {settings.object_store!r} (DIGITIZE_OBJECT_STORE: s3 or local)")


def connect(settings: Settings) -> Cluster:
    """Build the clients (Redis, object store, index) and make sure the bucket and schema exist."""
    if settings.object_store == "s3":
        from storage.s3 import make_s3_store

        make_s3_store(settings).ensure_bucket()  # a throwaway client: no socket is shared with forked jobs
    else:
        settings.archive.mkdir(parents=True, exist_ok=True)
    index = Index.from_url(settings.sqlite_url())
    index.engine.dispose()  # no pooled connection is inherited by forked job processes
    redis = redis_client(settings)
    try:
        redis.ping()
    except Exception as e:  # redis' own errors: connection refused, auth, timeout
        raise StorageError(f"cannot reach Redis (DIGITIZE_REDIS_URL): {e.__class__.__name__}: {e}") from e
    return Cluster(settings=settings, redis=redis, index=index, store=open_store(settings))


# --- jobs ---------------------------------------------------------------------------------------------


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


# --- pages and files in the index ------------------------------------------------------------------


def page_states(index: Index, sha256: str) -> dict[int, str]:
    """``{page: "done" | "failed"}`` for the pages of a file the index has a row for."""
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(pages.c.page, pages.c.status).where(pages.c.sha256 == sha256))
        return {int(r.page): str(r.status) for r in rows}


def page_errors(index: Index, sha256: str) -> dict[int, str]:
    """The recorded error of each failed page of a file."""
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(pages.c.page, pages.c.error)
                            .where(pages.c.sha256 == sha256, pages.c.status == "failed"))
        return {int(r.page): str(r.error or "failed") for r in rows}


def forget_pages(index: Index, sha256: str, page_numbers: Iterable[int]) -> None:
    """Delete the rows of pages about to be processed again (so a file is not 'complete' too early)."""
    nums = list(page_numbers)
    if nums:
        with index.engine.begin() as conn:
            conn.execute(pages.delete().where(pages.c.sha256 == sha256, pages.c.page.in_(nums)))


def forget_original(index: Index, sha256: str) -> None:
    """Clear a file's original key (its original was found unusable and moved to quarantine)."""
    with index.engine.begin() as conn:
        conn.execute(files.update().where(files.c.sha256 == sha256).values(original_key=None))


def file_complete(index: Index, sha256: str, page_count: int) -> bool:
    """True when every page of the file has a row (done or failed)."""
    with index.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(pages)
                         .where(pages.c.sha256 == sha256, pages.c.page <= page_count)).scalar()
    return page_count > 0 and int(n or 0) >= page_count


def source_file(row: dict[str, Any], path: str = "") -> SourceFile:
    """The ``SourceFile`` of an index row (the path is the worker's local copy, when it has one)."""
    return SourceFile(path=path, source=row["source"], sha256=row["sha256"], size=int(row["size"] or 0),
                      kind=InputKind(row["kind"]), page_count=int(row["page_count"] or 0))


def local_original(store: ObjectStore, settings: Settings, row: dict[str, Any]) -> Path:
    """The worker's local copy of a file's original (downloaded once per machine, sha256 verified)."""
    sha = row["sha256"]
    key = row["original_key"] or layout.original_key(sha, row["kind"])
    cache = Path(settings.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / Path(key).name
    if path.is_file():
        os.utime(path)  # in use: keep it out of the worker's sweep of old copies
        return path
    tmp = cache / f".{path.name}.{os.getpid()}.part"
    try:
        store.get_file(key, tmp)
        if sha256_file(tmp) != sha:
            raise IntegrityError(f"object {key!r} does not match its sha256")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def drop_local_original(settings: Settings, row: dict[str, Any]) -> None:
    """Remove this machine's copy of an original once its file is finished."""
    key = row["original_key"] or layout.original_key(row["sha256"], row["kind"] or "")
    (Path(settings.cache_dir) / Path(key).name).unlink(missing_ok=True)


def cleanup_intermediates(store: ObjectStore, sha256: str) -> int:
    """Delete a finished file's per-page objects; returns how many were deleted."""
    keys = list(store.list(layout.page_prefix(sha256)))
    store.delete_many(keys)
    return len(keys)


def delete_documents(store: ObjectStore, doc_ids: Iterable[str]) -> None:
    """Delete the stored objects of documents that no longer exist (a file segmented differently)."""
    for doc_id in doc_ids:
        store.delete_many(list(store.list(f"documents/{doc_id}/")))


def _page_row(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("page", "status", "kind", "blank", "rotation", "skew_deg", "blur", "dpi", "border", "mean_conf",
            "issues", "error")
    out = {k: r[k] for k in keep}
    out["issues"] = json.loads(r["issues"] or "[]")
    return out


def write_file_record(index: Index, store: ObjectStore, sha256: str) -> None:
    """Store the file's index record (row, pages, document ids): what ``reindex`` reads back."""
    row = index.get_file(sha256)
    if row is None:
        return
    record = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}
    record["pages"] = [_page_row(r) for r in index.list_pages(sha256)]
    record["documents"] = [d.doc_id for d in index.list_documents(sha256=sha256, kind=None)]
    store.put_bytes(layout.file_record_key(sha256), json.dumps(record, ensure_ascii=False, indent=1).encode(),
                    "application/json")


def quarantine(store: ObjectStore, index: Index, sha256: str, source: str, path: Path, err: InputError) -> None:
    """Keep a file that cannot be processed under ``quarantine/`` and record it as failed (as embedded)."""
    store.put_file(f"quarantine/{sha256}/{Path(source).name}", path)
    err.path = source
    index.fail_file(sha256, source=source, size=path.stat().st_size, reason=err.reason, message=str(err))
    write_file_record(index, store, sha256)
    log.error("%s", err)


# --- enqueue -----------------------------------------------------------------------------------------


@dataclass
class EnqueueReport:
    """What ``enqueue`` did with each file found."""

    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already done, or the same bytes twice
    failed: list[str] = field(default_factory=list)  # rejected (empty, not a scan); quarantined


def enqueue_paths(paths: Sequence[Path], cluster: Cluster) -> EnqueueReport:
    """Store the originals of every file under ``paths`` and queue their ingest jobs."""
    from digitize.errors import EmptyFileError
    from digitize.page.ingest import detect_kind

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
            quarantine(store, idx, sha, cand.source, cand.path, e)
            rep.failed.append(str(e))
            continue
        row = idx.get_file(sha)
        if sha in seen or (row is not None and row["status"] == "done"):
            rep.skipped.append(f"{cand.source}: already processed" if row and row["status"] == "done"
                               else f"{cand.source}: same bytes as another file")
            continue
        seen.add(sha)
        okey = layout.original_key(sha, kind.value)
        if not store.exists(okey):
            store.put_file(okey, cand.path, "application/pdf" if kind is InputKind.PDF else f"image/{kind.value}")
        if row is None or row["status"] == "failed":
            idx.upsert_file(sha, source=cand.source, size=size, kind=kind.value, page_count=0, status="queued",
                            original_key=okey)
            write_file_record(idx, store, sha)
        submit_ingest(cluster, sha)
        rep.queued.append(cand.source)
        log.info("%s: queued (sha256 %s)", cand.source, sha[:12])
    return rep


# --- recovery ------------------------------------------------------------------------------------------


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


def pending_jobs(redis: Redis, queue_names: Sequence[str]) -> int:
    """Jobs waiting, scheduled for a retry or running in the given queues."""
    from rq import Queue
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    n = 0
    for name in queue_names:
        q = Queue(name, connection=redis)
        n += q.count + ScheduledJobRegistry(queue=q).count + len(StartedJobRegistry(queue=q).get_job_ids(cleanup=False))
    return n


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


# --- status ----------------------------------------------------------------------------------------------


def status(cluster: Cluster, window_minutes: int = 5) -> dict[str, Any]:
    """Per queue: waiting, running, scheduled retries, failed, finished and the oldest waiting job;
    pages per minute over the last ``window_minutes`` (from the index); files by status."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    now = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {"queues": {}}
    for name in QUEUES:
        q = cluster.queue(name)
        oldest = None
        first = q.get_job_ids(0, 0)
        if first:
            job = Job.fetch(first[0], connection=cluster.redis) if Job.exists(first[0], cluster.redis) else None
            if job is not None and job.enqueued_at is not None:
                at = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=dt.UTC)
                oldest = {"job_id": job.id, "waiting_seconds": round((now - at).total_seconds(), 1)}
        out["queues"][name] = {
            "waiting": q.count,
            "running": StartedJobRegistry(queue=q).count,
            "scheduled": ScheduledJobRegistry(queue=q).count,
            "failed": FailedJobRegistry(queue=q).count,
            "finished": FinishedJobRegistry(queue=q).count,
            "oldest_waiting": oldest,
        }
    since = now - dt.timedelta(minutes=window_minutes)
    with cluster.index.engine.connect() as conn:
        recent = conn.execute(sa.select(sa.func.count()).select_from(pages).where(pages.c.updated_at >= since)).scalar()
        by_status = dict(conn.execute(sa.select(files.c.status, sa.func.count()).group_by(files.c.status)).all())
    out["pages_per_minute"] = round(int(recent or 0) / window_minutes, 2)
    out["files"] = {str(k): int(v) for k, v in by_status.items()}
    from rq import Worker

    out["workers"] = len(Worker.all(connection=cluster.redis))
    return out


# --- reindex ---------------------------------------------------------------------------------------------


def _load_json(store: ObjectStore, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.get_bytes(key))
    except NotFoundError:
        return None


def _document_from_store(store: ObjectStore, doc_id: str, sha256: str) -> Document | None:
    md = _load_json(store, layout.document_key(doc_id, "metadata.json"))
    if md is None:
        return None
    text_key = layout.document_key(doc_id, "document.txt")
    try:
        text = store.get_bytes(text_key).decode("utf-8")
    except NotFoundError:
        text, text_key = "", None
    pdf_key = layout.document_key(doc_id, "document.pdf")
    has_pdf = store.exists(pdf_key)
    return Document(
        doc_id=doc_id, sha256=sha256, source=md["source"], pages=tuple(md["pages"]), kind=md.get("kind", "result"),
        dossier_id=md.get("dossier_id"), dossier_source=md.get("dossier_source"),
        metadata=from_dict(Metadata, md["fields"]) if md.get("fields") else Metadata(), text=text,
        needs_review=bool(md.get("needs_review")), reasons=tuple(md.get("review_reasons") or ()),
        pdf_key=pdf_key if has_pdf else None, text_key=text_key, pdf_sha256=md.get("pdf_sha256") if has_pdf else None,
    )


def reindex(store: ObjectStore, index: Index) -> dict[str, int]:
    """Rebuild the index's files, pages and documents from object storage alone.

    Reads ``files/<sha>/file.json`` (written when a file is queued, fails or is finished), the
    documents' ``metadata.json`` and ``document.txt``, and — for files not finished yet — the page
    results still under ``pages/``. A file whose record says it was not finished is left
    ``processing``, so ``reconcile`` queues it again. API keys, audit and signatures are not objects
    and are not rebuilt."""
    from digitize.models import PageResult

    counts = {"files": 0, "pages": 0, "documents": 0}
    shas = sorted({key.split("/")[1] for key in store.list("files/") if key.endswith("/file.json")})
    for sha in shas:
        rec = _load_json(store, layout.file_record_key(sha))
        if rec is None:
            continue
        counts["files"] += 1
        if rec["status"] == "failed" and not rec.get("original_key"):
            index.fail_file(sha, source=rec["source"], size=rec["size"], reason=rec.get("error_reason") or "error",
                            message=rec.get("error_message") or "")
            continue
        finished = rec["status"] in ("done", "failed") and rec.get("page_count")
        index.upsert_file(sha, source=rec["source"], size=rec["size"], kind=rec.get("kind"),
                          page_count=rec.get("page_count") or 0, status=rec["status"] if finished else "processing",
                          original_key=rec.get("original_key"))
        if not finished:
            for page in range(1, (rec.get("page_count") or 0) + 1):
                key = layout.page_result_key(sha, page)
                stored = _load_json(store, key)
                if stored is not None and store.exists(layout.page_pdf_key(sha, page)):
                    index.record_page(sha, from_dict(PageResult, stored), result_key=key)
                    counts["pages"] += 1
            continue
        with index.engine.begin() as conn:
            for p in rec.get("pages") or []:
                values = dict(p, issues=json.dumps(p.get("issues") or []), result_key=None,
                              updated_at=dt.datetime.now(dt.UTC))
                conn.execute(pages.delete().where(pages.c.sha256 == sha, pages.c.page == p["page"]))
                conn.execute(pages.insert().values(sha256=sha, **values))
                counts["pages"] += 1
        docs = [d for d in (_document_from_store(store, doc_id, sha) for doc_id in rec.get("documents") or [])
                if d is not None]
        index.replace_documents(sha, docs)
        counts["documents"] += sum(1 for d in docs if d.kind == "result")
        index.finish_file(sha, status=rec["status"], pages_done=rec.get("pages_done") or 0,
                          pages_failed=rec.get("pages_failed") or 0, pages_blank=rec.get("pages_blank") or 0,
                          reason=rec.get("error_reason"), message=rec.get("error_message"))
    return counts

