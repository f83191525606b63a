"""The file record and ``digitize reindex``: the index rebuilt from object storage alone.

Each file's record (``files/<sha>/file.json``: its index row, page rows and document ids) is
written whenever the file is queued, rejected or finished — by the embedded driver, the workers and
the API alike — so the index of any archive can be rebuilt from its objects.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from digitize.errors import NotFoundError
from digitize.models import Document, Metadata, PageResult, from_dict
from storage import layout
from storage.index import Index
from storage.objects import ObjectStore


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
        counts["pages"] += index.restore_pages(sha, rec.get("pages") or [])
        docs = [d for d in (_document_from_store(store, doc_id, sha) for doc_id in rec.get("documents") or [])
                if d is not None]
        index.replace_documents(sha, docs)
        counts["documents"] += sum(1 for d in docs if d.kind == "result")
        index.finish_file(sha, status=rec["status"], pages_done=rec.get("pages_done") or 0,
                          pages_failed=rec.get("pages_failed") or 0, pages_blank=rec.get("pages_blank") or 0,
                          reason=rec.get("error_reason"), message=rec.get("error_message"))
    return counts

