"""Manual fixes for the rare case segmentation got it wrong: assign, split, merge.

Every change goes through the index with a history entry (who, when, what). Split and merge change a
document's pages, so its stored PDF and text objects no longer match: ``pdf_key`` / ``text_key`` are
cleared and the reason "pdf needs rebuild" is added. :mod:`digitize.handoff.review` (``split``, ``merge``:
what the command line and the review station call) then re-makes the parts and clears it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from digitize.errors import DigitizeError
from digitize.models import Document, Metadata
from digitize.text.dossier_code import parse
from storage.index import Index

log = logging.getLogger(__name__)

MANUAL = "manual"
PDF_REBUILD = "pdf needs rebuild"
METADATA_MISSING = "metadata not extracted (document split by hand)"
# Reasons about the dossier code that a clerk's assignment settles.
_CODE_REASONS = ("no dossier code found", "dossier code disagreement", "carries several dossier codes")


class ManualFixError(DigitizeError):
    """A manual fix was asked for with arguments that cannot work."""

    exit_code = 2
    http_status = 400
    reason = "bad_manual_fix"


def _who(who: str) -> str:
    who = (who or "").strip()
    if not who:
        raise ManualFixError("say who makes the change (--who NAME)")
    return who


def _with_reasons(doc: Document, reasons: Sequence[str], **changes: object) -> Document:
    reasons = tuple(dict.fromkeys(reasons))
    return dataclasses.replace(doc, reasons=reasons, needs_review=bool(reasons), **changes)


def assign(index: Index, doc_id: str, dossier_code: str, who: str) -> Document:
    """Attach a document to a dossier code by hand; the code is validated. Returns the updated document."""
    who = _who(who)
    code = parse(dossier_code).code
    doc = index.get_document(doc_id)
    reasons = [r for r in doc.reasons if not r.startswith(_CODE_REASONS)]
    new = _with_reasons(doc, reasons, dossier_id=code, dossier_source=MANUAL)
    index.update_document(new, who=who, action="assign",
                          detail={"from": doc.dossier_id, "from_source": doc.dossier_source, "to": code})
    log.info("document %s assigned to dossier %s by %s", doc_id, code, who)
    return new


def _split_text(doc: Document) -> list[str] | None:
    parts = doc.text.split("\f")
    return parts if len(parts) == len(doc.pages) else None


def split(index: Index, doc_id: str, at_page: int, who: str) -> tuple[Document, Document]:
    """Split a document in two before ``at_page`` (a page number of the source file, in the document,
    not its first page). The first part keeps the id and metadata; the second gets a new id."""
    from digitize.pipeline.page import document_id

    who = _who(who)
    doc = index.get_document(doc_id)
    if at_page not in doc.pages:
        raise ManualFixError(f"page {at_page} is not in document {doc_id} (pages {list(doc.pages)})")
    cut = doc.pages.index(at_page)
    if cut == 0:
        raise ManualFixError(f"page {at_page} is the first page of document {doc_id}: nothing to split off")
    texts = _split_text(doc)
    first_pages, second_pages = doc.pages[:cut], doc.pages[cut:]
    if texts is None:
        first_text, second_text = doc.text, ""
        text_reason = ["text could not be divided by page; rebuild from the page results"]
    else:
        first_text, second_text = "\f".join(texts[:cut]), "\f".join(texts[cut:])
        text_reason = []
    new_id = document_id(doc.sha256, second_pages, doc.kind)
    if new_id == doc.doc_id:
        raise ManualFixError(f"cannot split {doc_id}: the new part would get the same id")
    stale = {"pdf_key": None, "pdf_sha256": None, "text_key": None}
    a = _with_reasons(doc, [*doc.reasons, PDF_REBUILD, *text_reason], pages=first_pages, text=first_text, **stale)
    b = _with_reasons(dataclasses.replace(doc, doc_id=new_id), [PDF_REBUILD, METADATA_MISSING, *text_reason],
                      pages=second_pages, text=second_text, metadata=Metadata(), **stale)
    index.rewrite_documents([a, b], [], who=who, action="split",
                            detail={"document": doc_id, "at_page": at_page, "parts": [doc_id, new_id],
                                    "pages": [list(first_pages), list(second_pages)]})
    log.info("document %s split at page %d into %s and %s by %s", doc_id, at_page, doc_id, new_id, who)
    return a, b


def merge(index: Index, doc_ids: Sequence[str], who: str) -> Document:
    """Merge documents of the same file into one (pages in page order). The document with the lowest
    first page keeps its id and metadata; the others are deleted. Documents of different dossiers are
    refused (assign them first)."""
    who = _who(who)
    ids = list(doc_ids)
    if len(ids) < 2:
        raise ManualFixError("give at least two documents to merge")
    if len(set(ids)) != len(ids):
        raise ManualFixError(f"a document is named twice: {', '.join(ids)}")
    docs = sorted((index.get_document(i) for i in ids), key=lambda d: d.pages[0] if d.pages else 0)
    if len({d.sha256 for d in docs}) > 1:
        raise ManualFixError("only documents of the same scanned file can be merged")
    if len({d.kind for d in docs}) > 1:
        raise ManualFixError("a receipt cannot be merged with a result document")
    codes = {d.dossier_id for d in docs if d.dossier_id}
    if len(codes) > 1:
        raise ManualFixError(f"the documents belong to different dossiers ({', '.join(sorted(codes))}); "
                             "assign them to one dossier first")
    pages = [p for d in docs for p in d.pages]
    if len(set(pages)) != len(pages):
        raise ManualFixError("the documents share pages")
    per_page: dict[int, str] = {}
    texts_ok = True
    for d in docs:
        parts = _split_text(d)
        if parts is None:
            texts_ok = False
            break
        per_page.update(zip(d.pages, parts, strict=True))
    order = sorted(pages)
    text = "\f".join(per_page[p] for p in order) if texts_ok else "\f".join(d.text for d in docs)
    keep = docs[0]
    code = next(iter(codes)) if codes else None
    source = next((d.dossier_source for d in docs if d.dossier_id == code), None) if code else None
    reasons = [r for d in docs for r in d.reasons if not (code and r.startswith("no dossier code found"))]
    merged = _with_reasons(keep, [*reasons, PDF_REBUILD], pages=tuple(order), text=text, dossier_id=code,
                           dossier_source=source, pdf_key=None, pdf_sha256=None, text_key=None)
    gone = [d.doc_id for d in docs[1:]]
    index.rewrite_documents([merged], gone, who=who, action="merge",
                            detail={"documents": [d.doc_id for d in docs], "into": keep.doc_id, "pages": order})
    log.info("documents %s merged into %s by %s", ", ".join(ids), keep.doc_id, who)
    return merged
