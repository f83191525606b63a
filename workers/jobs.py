"""rq job functions: load by key, call the digitize stage functions, save by key, enqueue the next stage.

Every job is idempotent, so rq's at-least-once delivery (a job run again after its worker died, a
retry after a transient failure, ``reconcile`` after Redis lost its queues) never duplicates work
products: a page already stored is not processed again, a finished file is not finished again, and
``finish_file`` replaces a file's documents instead of adding to them.

The cluster (Redis, object store, index) is set by the worker entry point (:func:`use`) before any
job runs; a job run by a plain ``rq worker`` builds it from the environment on first use.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from digitize.errors import InputError, NotFoundError
from digitize.logs import job_context
from digitize.pipeline.file import reject, settle
from storage.reindex import write_file_record
from workers.cluster import Cluster, connect, open_store
from workers.originals import drop_local_original, local_original, source_file
from workers.queue import submit_finish, submit_pages

log = logging.getLogger(__name__)

_cluster: dict[str, Any] = {}


def use(cluster: Cluster) -> None:
    """Set the cluster the jobs of this process use (called by the worker entry point)."""
    _cluster["cluster"] = cluster
    _cluster["pid"] = os.getpid()


def cluster() -> Cluster:
    """The cluster of this process (``digitize worker`` runs jobs in its own process; under a forking
    ``rq worker`` each job process drops the index's inherited pool)."""
    c = _cluster.get("cluster")
    if c is None:
        from digitize.config import load_settings

        c = connect(load_settings())
        use(c)
    if _cluster.get("pid") != os.getpid():
        # a forked job process: never share the parent's database or S3 connections
        c.index.engine.dispose(close=False)
        c.store = open_store(c.settings)
        _cluster["pid"] = os.getpid()
    return c


def _job_id(default: str) -> str:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else default


def _file_row(c: Cluster, sha256: str) -> dict[str, Any]:
    row = c.index.get_file(sha256)
    if row is None:
        raise NotFoundError(f"file {sha256[:12]} is not in the index (enqueue it again)")
    return row


def ingest(sha256: str) -> dict[str, Any]:
    """Check a queued file's original, count its pages and queue a job per page not done yet."""
    from digitize.page.ingest import inspect

    with job_context(_job_id(f"ingest-{sha256[:16]}")):
        c = cluster()
        row = _file_row(c, sha256)
        if row["status"] == "done":
            log.info("%s: already done", row["source"])
            return {"pages": 0}
        path = local_original(c.store, c.settings, row)
        try:
            src = inspect(path, row["source"], max_pixels=c.settings.max_pixels, max_pages=c.settings.max_pages,
                          render_dpi=c.settings.render_dpi)
        except InputError as e:
            # as embedded: an unusable input is quarantined, not kept as an original. Any step may fail
            # (storage outage) and the job run again, so the original is deleted by its layout key (an
            # earlier attempt may have cleared the row's) and forgotten only once it is gone.
            from storage import layout

            reject(c.store, c.index, sha256, row["source"], path, e)
            c.store.delete(row["original_key"] or layout.original_key(sha256, row["kind"] or ""))
            c.index.forget_original(sha256)
            write_file_record(c.index, c.store, sha256)
            drop_local_original(c.settings, row)
            return {"pages": 0, "error": e.reason}
        c.index.upsert_file(sha256, source=src.source, size=src.size, kind=src.kind.value,
                            page_count=src.page_count, status="processing", original_key=row["original_key"])
        states = c.index.page_states(sha256)
        todo = [p for p in range(1, src.page_count + 1) if states.get(p) != "done"]
        c.index.forget_pages(sha256, [p for p in todo if p in states])  # failed pages are tried again
        if not todo:
            submit_finish(c, sha256)
            return {"pages": 0}
        n = submit_pages(c, sha256, todo)
        log.info("%s: %d pages, %d queued", src.source, src.page_count, n)
        return {"pages": n}


def ocr_page(sha256: str, page: int) -> dict[str, Any]:
    """Process one page (preprocess, codes, OCR, searchable page), save it by key, and queue the
    file's finish job when this was its last page."""
    from digitize.pipeline.page import PageTask, process_page
    from digitize.pipeline.pagestore import load_stored_page, save_page

    with job_context(_job_id(f"page-{sha256[:16]}-{page:04d}")):
        c = cluster()
        row = _file_row(c, sha256)
        if row["status"] == "done":
            return {"page": page, "skipped": True}
        skipped = c.index.page_states(sha256).get(page) == "done" and \
            load_stored_page(c.store, sha256, page) is not None
        failed = False
        if not skipped:
            s = c.settings
            path = local_original(c.store, s, row)
            outcome = process_page(PageTask.for_page(s, path=str(path), kind=source_file(row).kind, page=page))
            save_page(c.store, c.index, sha256, outcome)
            failed = outcome.result.failed
        if c.index.file_complete(sha256, int(row["page_count"] or 0)) and submit_finish(c, sha256):
            log.info("%s: all %d pages done, finish queued", row["source"], row["page_count"])
        return {"page": page, "skipped": skipped, "failed": failed}


def finish(sha256: str) -> dict[str, Any]:
    """Finish a file once all its pages are done (``finish_file``: documents stored and indexed, the file
    record written, the page intermediates deleted unless a page failed)."""
    from digitize.pipeline.file import finish_file
    from digitize.pipeline.page import OcrOptions, failed_page
    from digitize.pipeline.pagestore import load_stored_page

    with job_context(_job_id(f"finish-{sha256[:16]}")):
        c = cluster()
        row = _file_row(c, sha256)
        if row["status"] != "done":
            states = c.index.page_states(sha256)
            errors = c.index.page_errors(sha256)
            results, missing = [], []
            for page in range(1, int(row["page_count"] or 0) + 1):
                stored = load_stored_page(c.store, sha256, page) if states.get(page) == "done" else None
                if stored is not None:
                    results.append(stored)
                elif states.get(page) == "failed":
                    results.append(failed_page(page, errors.get(page, "failed")))
                else:
                    missing.append(page)
            if missing or not results:
                c.index.forget_pages(sha256, missing)
                n = submit_pages(c, sha256, missing)
                log.warning("%s: pages %s are not done yet; %d queued again", row["source"], missing, n)
                return {"documents": 0, "missing": missing}
            outcome = finish_file(source_file(row), results, c.index, c.store, OcrOptions.from_settings(c.settings))
            row = _file_row(c, sha256)
            documents, removed = outcome.documents, outcome.intermediates_removed
        else:  # finished before (this job ran again): the record and the clean-up, once more
            documents = sum(1 for _ in c.index.list_documents(sha256=sha256))
            removed = settle(c.index, c.store, sha256)
        if row["status"] == "done":
            drop_local_original(c.settings, row)
        log.info("%s: %s, %d documents, %d intermediates removed", row["source"], row["status"], documents, removed)
        return {"documents": documents, "status": row["status"]}


def page_failed(job: Any, connection: Any, exc_type: Any = None, exc_value: Any = None, tb: Any = None) -> None:
    """rq failure callback of page jobs. When no retry is left (the job goes to the failed
    registry), record the page as failed — as the embedded driver does with a page that crashed its
    worker twice — so that its file is still finished, with the failure among its review reasons;
    ``retry-failed`` processes the page again later. Never raises."""
    from digitize.pipeline.page import failed_page

    if job.retries_left:
        return  # a retry follows
    try:
        sha256, page = job.args
        why = "its worker died" if exc_type is None or exc_type.__name__ == "AbandonedJobError" else \
            f"{exc_type.__name__}: {exc_value}"
        with job_context(job.id):
            c = cluster()
            c.index.record_page(sha256, failed_page(int(page), f"the page's job failed ({why})"))
            row = c.index.get_file(sha256)
            log.error("page %s of %s failed for good: %s", page, row["source"] if row else sha256[:12], why)
            if row is not None and c.index.file_complete(sha256, int(row["page_count"] or 0)):
                submit_finish(c, sha256)
    except Exception:  # noqa: BLE001 - a failing callback would replace the job's own failure
        log.exception("recording the failed page of job %s failed", getattr(job, "id", "?"))
