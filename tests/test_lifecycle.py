"""One file lifecycle for every driver (pipeline/file.py): the rule for a file submitted again, the page
intermediates (dropped by the workers once a file is done: test_distributed), the file record. The API's
side is in test_api.py."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from digitize.config import load_settings
from digitize.embedded import driver
from digitize.embedded.claims import FileClaims
from digitize.pipeline.file import Admission, admission
from digitize.samples.documents import DocSpec, render, save_pdf
from storage import layout
from storage.index import Index
from storage.objects import LocalObjectStore

DPI = 200


@pytest.mark.parametrize(("status", "expected"), [
    (None, Admission.NEW), ("done", Admission.DUPLICATE), ("failed", Admission.RETRY),
    ("queued", Admission.IN_PROGRESS), ("processing", Admission.IN_PROGRESS)])
def test_the_rule_for_a_file_submitted_again(status: str | None, expected: Admission) -> None:
    assert admission(None if status is None else {"status": status}) is expected


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    save_pdf(render(DocSpec(), dpi=DPI).pages, folder / "qd.pdf", dpi=DPI)
    return folder


def _sha(scan: Path) -> str:
    return hashlib.sha256((scan / "qd.pdf").read_bytes()).hexdigest()


def _embedded(tmp_path: Path) -> tuple[Any, Index, LocalObjectStore]:
    settings = load_settings(archive=tmp_path / "archive", jobs=1)
    settings.archive.mkdir(exist_ok=True)
    return settings, Index.from_url(settings.index_db_url()), LocalObjectStore(settings.archive / "objects")


def test_embedded_run_follows_the_rule(scan: Path, tmp_path: Path) -> None:
    settings, index, store = _embedded(tmp_path)
    sha = _sha(scan)
    # another live run holds the file (queued or processing in the index): it is not started twice
    index.upsert_file(sha, source="qd.pdf", size=1, kind="pdf", page_count=1, status="processing")
    other = FileClaims(settings.archive / "claims")
    assert other.claim(sha)
    summary = driver.run([scan], settings, index, store)
    assert [(f.status, f.error) for f in summary.files] == [("skipped", "being processed by another run")]
    assert summary.pages_processed == 0 and not list(store.list(layout.page_prefix(sha)))
    # that run died (its claim went with it): the next run resumes the file
    other.release_all()
    summary = driver.run([scan], settings, index, store)
    assert [f.status for f in summary.files] == ["done"] and summary.pages_processed == 1
    # done: the file record says done and lists the documents; the page objects are dropped, as by the workers
    # (the review station's structure fixes rebuild from the documents' PDFs and the original)
    assert not list(store.list("pages/"))
    record = json.loads(store.get_bytes(layout.file_record_key(sha)))
    assert record["status"] == "done" and len(record["documents"]) == 1
    assert not list((settings.archive / "claims").iterdir())  # claims are given back
    # done = a duplicate
    summary = driver.run([scan], settings, index, store)
    assert [f.status for f in summary.files] == ["skipped"] and summary.pages_processed == 0
    # failed = tried again
    index.finish_file(sha, status="failed", pages_done=0, pages_failed=1, pages_blank=0, reason="page_failed",
                      message="page 1: test")
    summary = driver.run([scan], settings, index, store)
    # its page objects went when it was done, so the page is read again (a file that really failed keeps the
    # pages that were done, and its retry reuses them: test_embedded_run_keeps_page_objects_only_while_a_page_failed)
    assert [f.status for f in summary.files] == ["done"] and summary.pages_processed == 1
    assert index.get_file(sha)["status"] == "done"
    assert json.loads(store.get_bytes(layout.file_record_key(sha)))["status"] == "done"
    index.close()


def test_enqueue_follows_the_rule(scan: Path, tmp_path: Path, redis_server: str) -> None:
    from redis import Redis
    from rq import Queue

    from workers.cluster import Cluster
    from workers.queue import QUEUE_INGEST, enqueue_paths

    settings = load_settings(archive=tmp_path / "archive", cache_dir=tmp_path / "cache", object_store="local")
    settings.archive.mkdir()
    index = Index.from_url(settings.index_db_url())
    store = LocalObjectStore(settings.archive / "objects")
    redis = Redis.from_url(redis_server)
    queue = Queue(QUEUE_INGEST, connection=redis)
    queue.empty()
    cluster = Cluster(settings=settings, redis=redis, index=index, store=store)
    sha = _sha(scan)

    rep = enqueue_paths([scan], cluster)
    assert rep.queued == ["qd.pdf"] and queue.count == 1
    assert json.loads(store.get_bytes(layout.file_record_key(sha)))["status"] == "queued"
    queue.empty()  # as if Redis lost it: only `reconcile` queues a file the index says is queued
    rep = enqueue_paths([scan], cluster)
    assert rep.queued == [] and rep.skipped == ["qd.pdf: already queued (`digitize reconcile` queues again what "
                                                "Redis lost)"] and queue.count == 0
    index.finish_file(sha, status="failed", pages_done=0, pages_failed=1, pages_blank=0, reason="x", message="x")
    rep = enqueue_paths([scan], cluster)
    assert rep.queued == ["qd.pdf"] and queue.count == 1
    assert index.get_file(sha)["status"] == "queued"
    queue.empty()
    index.finish_file(sha, status="done", pages_done=1, pages_failed=0, pages_blank=0)
    rep = enqueue_paths([scan], cluster)
    assert rep.skipped == ["qd.pdf: already processed"] and queue.count == 0
    index.close()


class _NoRoomFor(LocalObjectStore):
    """A local store whose disk is full when the object ``key`` is written."""

    def __init__(self, root: Path, key: str | None) -> None:
        super().__init__(root)
        self.key = key

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        if key == self.key:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().put_bytes(key, data, content_type)


def test_embedded_run_keeps_page_objects_only_while_a_page_failed(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    pages = render(DocSpec(), dpi=DPI).pages
    save_pdf([*pages, *pages], folder / "two.pdf", dpi=DPI)
    sha = hashlib.sha256((folder / "two.pdf").read_bytes()).hexdigest()
    settings, index, _ = _embedded(tmp_path)
    store = _NoRoomFor(settings.archive / "objects", layout.page_pdf_key(sha, 2))
    summary = driver.run([folder], settings, index, store)
    assert [f.status for f in summary.files] == ["failed"]  # page 2 could not be stored
    assert sorted(store.list("pages/")) == [layout.page_result_key(sha, 1), layout.page_pdf_key(sha, 1)]
    store.key = None  # room again: the retry reads page 2 only, finishes the file and drops its page objects
    summary = driver.run([folder], settings, index, store)
    assert [f.status for f in summary.files] == ["done"] and summary.pages_processed == 1
    assert not list(store.list("pages/"))
    assert index.get_file(sha)["status"] == "done"
