"""A file's lifecycle, one for every driver (the embedded run, the workers, the API upload):

- :func:`admission` — the one rule for a file submitted again (by sha256): done = a duplicate, queued or
  processing = in progress (never started twice), failed = tried again;
- :func:`admit` — keep its original (once, by sha256), record it, write its file record;
- :func:`reject` — an input that cannot be processed: quarantined, recorded as failed;
- :func:`finish_file` — once every page is done: segment, extract, assemble and store each document,
  index it, delete the documents a new segmentation dropped, write the file record, and drop the
  page intermediates (kept while a page failed, for the retry; kept always with ``keep_pages``, which
  ``digitize run --keep-pages`` asks for: ``scripts/refinish.py`` reads them; the review station's fixes
  do without them, see :mod:`digitize.pipeline.restore`); idempotent (running it twice gives the same
  objects and rows, never duplicates).

The file record (``files/<sha>/file.json``) is what ``digitize reindex`` reads back.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from digitize.errors import InputError, NotFoundError
from digitize.handoff.export import export_record
from digitize.models import Document, InputKind, PageResult, SourceFile, to_dict
from digitize.page.pdf import merge_pages
from digitize.pipeline.page import OcrOptions, make_document, plan_file
from storage import layout
from storage.index import Index
from storage.objects import ObjectStore
from storage.reindex import write_file_record

log = logging.getLogger(__name__)


class Admission(StrEnum):
    """What to do with a file submitted (run, enqueued, uploaded) whose sha256 the index may know."""

    NEW = "new"  # never seen: process it
    RETRY = "retry"  # it failed before: process it again (its stored pages are reused)
    DUPLICATE = "duplicate"  # done: nothing to do
    IN_PROGRESS = "in_progress"  # queued or being processed: not started a second time


def admission(row: dict[str, Any] | None) -> Admission:
    """The one rule for a clerk submitting a file again, by its index row: a done file is a duplicate, a
    file still queued or being processed is not started twice, a failed one may be retried."""
    if row is None:
        return Admission.NEW
    if row["status"] == "done":
        return Admission.DUPLICATE
    if row["status"] == "failed":
        return Admission.RETRY
    return Admission.IN_PROGRESS


def content_type(kind: InputKind) -> str:
    """The MIME type an original of this kind is stored with."""
    return "application/pdf" if kind is InputKind.PDF else f"image/{kind.value}"


def admit(store: ObjectStore, index: Index, *, sha256: str, source: str, path: Path, kind: InputKind, size: int,
          status: str, page_count: int = 0) -> str:
    """Keep a file's original (once: the same bytes are one object), record the file with ``status``
    (``queued`` or ``processing``) and write its file record; returns the original's key."""
    okey = layout.original_key(sha256, kind.value)
    if not store.exists(okey):
        store.put_file(okey, path, content_type(kind))  # atomic: a full disk leaves no part of it
    index.upsert_file(sha256, source=source, size=size, kind=kind.value, page_count=page_count, status=status,
                      original_key=okey)
    write_file_record(index, store, sha256)
    return okey


@dataclass(frozen=True)
class FinishOutcome:
    """Counts for the run summary."""

    pages_done: int
    pages_failed: int
    pages_blank: int
    documents: int
    needs_review: int
    error: str | None
    intermediates_removed: int = 0


def finish_file(src: SourceFile, results: Sequence[PageResult], index: Index, store: ObjectStore,
                ocr: OcrOptions = OcrOptions(), *, keep_pages: bool = False) -> FinishOutcome:
    """Turn a file's page results into stored, indexed documents; ``ocr``: the settings for the second
    readings of the signature block (the run's language, time limit and back-end); ``keep_pages``: keep
    the page intermediates of a done file too (see :func:`settle`)."""
    from digitize.document.reocr import make_reocr

    seg = plan_file(src, results)
    old = {d.doc_id for d in index.list_documents(sha256=src.sha256, kind=None)}
    pdfs = PagePdfs(store, src.sha256)
    reocr = make_reocr(results, pdfs.get, lang=ocr.lang, timeout=ocr.timeout, backend=ocr.backend)
    docs: list[Document] = []
    for plan in seg.plans:
        doc = make_document(src, plan, results, reocr=reocr)
        docs.append(store_document(doc, store, pdfs))
        pdfs.clear()  # a document's pages are read for its extraction and its PDF, then let go
    index.replace_documents(src.sha256, docs)
    delete_documents(store, old - {d.doc_id for d in docs})  # documents a new segmentation no longer makes
    index.set_page_kinds(src.sha256, {p: k.value for p, k in seg.page_kinds.items()})
    for code in sorted({d.dossier_id for d in docs if d.dossier_id}):
        write_dossier_manifest(code, index, store)
    failed = [r for r in results if r.failed]
    blank = sum(1 for r in results if not r.failed and r.blank)
    error = None
    if failed:
        error = "; ".join(f"page {r.page}: {r.error}" for r in failed)
    status = "failed" if failed else "done"
    index.finish_file(src.sha256, status=status, pages_done=len(results) - len(failed), pages_failed=len(failed),
                      pages_blank=blank, reason="page_failed" if failed else None, message=error)
    removed = settle(index, store, src.sha256, keep_pages=keep_pages)
    results_docs = [d for d in docs if d.kind == "result"]
    log.info("%s: %d pages, %d documents (%d need review)%s", src.source, len(results), len(results_docs),
             sum(d.needs_review for d in results_docs), f", {len(failed)} pages failed" if failed else "")
    return FinishOutcome(pages_done=len(results) - len(failed), pages_failed=len(failed), pages_blank=blank,
                         documents=len(results_docs), needs_review=sum(d.needs_review for d in results_docs),
                         error=error, intermediates_removed=removed)


class PagePdfs:
    """A file's stored page PDFs, each fetched once while kept (a document's extraction reads some
    of them again, then its PDF is merged from all of them)."""

    def __init__(self, store: ObjectStore, sha256: str) -> None:
        self.store, self.sha256 = store, sha256
        self._cache: dict[int, bytes | None] = {}

    def find(self, page: int) -> bytes | None:
        """The page's PDF, None when the page has none (a failed page)."""
        if page not in self._cache:
            try:
                self._cache[page] = self.store.get_bytes(layout.page_pdf_key(self.sha256, page))
            except NotFoundError:
                self._cache[page] = None
        return self._cache[page]

    def get(self, page: int) -> bytes:
        """The page's PDF; NotFoundError when it has none."""
        pdf = self.find(page)
        if pdf is None:
            raise NotFoundError(f"page {page} of file {self.sha256[:12]} has no stored PDF")
        return pdf

    def clear(self) -> None:
        """Let go of the PDFs read so far."""
        self._cache.clear()


def store_document(doc: Document, store: ObjectStore, pdfs: PagePdfs | None = None) -> Document:
    """Assemble the document's PDF from its stored pages and store PDF, text and metadata."""
    pdfs = pdfs or PagePdfs(store, doc.sha256)
    page_pdfs = [pdf for pdf in map(pdfs.find, doc.pages) if pdf is not None]
    pdf_key = pdf_sha = None
    if page_pdfs:
        pdf_key = layout.document_key(doc.doc_id, "document.pdf")
        pdf_sha = store.put_bytes(pdf_key, merge_pages(page_pdfs, title=pdf_title(doc)), "application/pdf")
    text_key = layout.document_key(doc.doc_id, "document.txt")
    store.put_bytes(text_key, doc.text.encode("utf-8"), "text/plain; charset=utf-8")
    doc = dataclasses.replace(doc, pdf_key=pdf_key, pdf_sha256=pdf_sha, text_key=text_key)
    store.put_bytes(layout.document_key(doc.doc_id, "metadata.json"),
                    json.dumps(document_metadata(doc), ensure_ascii=False, indent=1).encode("utf-8"),
                    "application/json")
    return doc


def pdf_title(doc: Document) -> str | None:
    """The title written in the document's PDF: its type and number."""
    values = doc.metadata.values()
    return " ".join(str(values[k]) for k in ("doc_type", "number") if values.get(k)) or None


def document_metadata(doc: Document) -> dict:
    """The stored metadata.json: the export record, the official names, per-field confidences."""
    from digitize.document.extract import official_metadata

    record = export_record(doc)
    record.pop("text", None)
    record["official"] = official_metadata(doc.metadata, page_amount=len(doc.pages), dossier_id=doc.dossier_id)
    record["fields"] = to_dict(doc.metadata)
    return record


def write_dossier_manifest(code: str, index: Index, store: ObjectStore) -> None:
    """(Re)write the dossier's manifest: its documents with the sha256 of their PDFs."""
    docs = list(index.list_documents(dossier_id=code, kind=None))
    manifest = {
        "dossier_id": code,
        "documents": [{"doc_id": d.doc_id, "kind": d.kind, "source": d.source, "pages": list(d.pages),
                       "pdf_key": d.pdf_key, "pdf_sha256": d.pdf_sha256, "needs_review": d.needs_review}
                      for d in docs],
    }
    store.put_bytes(layout.dossier_manifest_key(code), json.dumps(manifest, ensure_ascii=False, indent=1).encode(),
                    "application/json")


def reject(store: ObjectStore, index: Index, sha256: str, source: str, path: Path, err: InputError) -> None:
    """Keep an input that cannot be processed under ``quarantine/`` and record it as failed."""
    store.put_file(layout.quarantine_key(sha256, source), path)
    err.path = source
    index.fail_file(sha256, source=source, size=path.stat().st_size, reason=err.reason, message=str(err))
    write_file_record(index, store, sha256)
    log.error("%s", err, extra={"reported": True})  # a command prints the file's failure itself


def fail_finish(index: Index, store: ObjectStore, sha256: str, reason: str, message: str) -> None:
    """Record that a file could not be finished (its stored pages stay, for the next attempt)."""
    index.finish_file(sha256, status="failed", pages_done=0, pages_failed=0, pages_blank=0, reason=reason,
                      message=message)
    write_file_record(index, store, sha256)


def settle(index: Index, store: ObjectStore, sha256: str, *, keep_pages: bool = False) -> int:
    """After a file's finish: write its file record and, when it is done (no failed page) and not
    ``keep_pages``, delete its page intermediates; returns how many were deleted. Idempotent (a finish
    run again ends here too)."""
    write_file_record(index, store, sha256)
    row = index.get_file(sha256)
    if keep_pages or row is None or row["status"] != "done":
        return 0
    return cleanup_intermediates(store, sha256)


def cleanup_intermediates(store: ObjectStore, sha256: str) -> int:
    """Delete a finished file's per-page objects; returns how many were deleted."""
    keys = list(store.list(layout.page_prefix(sha256)))
    store.delete_many(keys)
    return len(keys)


def delete_documents(store: ObjectStore, doc_ids: Iterable[str]) -> None:
    """Delete the stored objects of documents that no longer exist (a file segmented differently)."""
    for doc_id in doc_ids:
        store.delete_many(list(store.list(f"documents/{doc_id}/")))
