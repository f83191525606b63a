"""Clearing a review: fix a field, approve a document, re-make what depends on it.

Shared by ``digitize fix`` / ``digitize approve`` and the web review station (``digitize.api.review``).
A fix is validated (the same rules as extraction: number symbol against type, date not in the future
nor before the dossier was received) with a message in Vietnamese, and kept in the document's history
(action ``review``, ``{"changes": {field: [old, new]}}``, the same shape as the API's ``PUT``). Approving
clears ``needs_review``, then re-makes ``metadata.json`` (and the PDF when the page intermediates are
kept or its title, type and number, changed), the index row and the dossier manifest, so ``publish``
sends the corrected package as a new version. Structure fixes from the station (split, merge, mark a
page blank) re-make the parts they touch from what an archive keeps (:mod:`digitize.pipeline.restore`:
the documents' own PDFs, the page read again from the original where no document holds it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digitize.document.validate import (
    EARLIEST_DATE,
    check_number_type,
    dossier_date,
    number_rule_issues,
    parse_number,
)
from digitize.errors import DigitizeError
from digitize.handoff import manual
from digitize.models import Document, Field, InputKind
from digitize.pipeline.file import pdf_title
from digitize.pipeline.page import PageTask
from digitize.pipeline.restore import PageSource, stored_pdf_title
from digitize.text.doctypes import by_name
from storage import access, layout
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

# field -> (Vietnamese label, longest value accepted: the API's limits)
FIELDS: dict[str, tuple[str, int]] = {
    "doc_type": ("Loại văn bản", 200), "number": ("Số, ký hiệu", 100), "issued_date": ("Ngày ban hành", 10),
    "issuer": ("Cơ quan ban hành", 500), "place": ("Địa danh", 200), "summary": ("Trích yếu", 5000),
    "signer": ("Người ký", 200), "signer_position": ("Chức vụ người ký", 200),
}
NUMBER_EXAMPLE = "123/QĐ-UBND"


class ReviewError(DigitizeError):
    """A correction or approval that cannot be accepted; the message is for the clerk (Vietnamese)."""

    exit_code = 2
    http_status = 400
    reason = "invalid_review"


@dataclass(frozen=True)
class Actor:
    """Who acts, for history and audit: a key or user name, its role, and the address it came from."""

    name: str
    role: str | None = None
    ip: str | None = None
    via: str = "cli"


# --- command line (registered by digitize.cli) ----------------------------------------------------


def cmd_fix(args: Any, settings: Any) -> int:
    """``digitize fix DOC FIELD VALUE``: correct one metadata field (validated, kept in its history)."""
    from digitize.cli import _open_backends

    index, _store = _open_backends(settings)
    doc = fix(index, args.doc_id, args.field, args.value, Actor(args.who))
    print(f"{doc.doc_id}: {args.field} = {getattr(doc.metadata, args.field).value}")
    return 0


def cmd_approve(args: Any, settings: Any) -> int:
    """``digitize approve DOC``: clear the review; metadata.json, the index and the manifest are re-made."""
    from digitize.cli import _open_backends

    index, store = _open_backends(settings)
    doc = approve(index, store, args.doc_id, Actor(args.who))
    print(f"{doc.doc_id}: đã duyệt (hồ sơ {doc.dossier_id})")
    return 0


def _vn_date(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def check_value(doc: Document, name: str, value: str | None, *, doc_type: str | None = None,
                today: dt.date | None = None) -> str | None:
    """The value to store for field ``name`` of ``doc`` (trimmed, normalised), or ReviewError in Vietnamese.

    ``doc_type`` is the type to check a number against (default: the document's). Dates are
    ``YYYY-MM-DD`` or ``DD/MM/YYYY``.
    """
    if name not in FIELDS:
        raise ReviewError(f"Không có trường “{name}”. Các trường: {', '.join(FIELDS)}")
    label, longest = FIELDS[name]
    value = " ".join((value or "").split()) or None
    if value is None:
        return None
    if name == "issued_date":
        return check_date(value, doc.dossier_id, today=today).isoformat()
    if len(value) > longest:
        raise ReviewError(f"{label} dài quá {longest} ký tự")
    if name == "number":
        return check_number(value, doc_type if doc_type is not None else doc.metadata.doc_type.value)
    return value


def check_date(value: str, dossier_id: str | None, *, today: dt.date | None = None) -> dt.date:
    """A document date the clerk typed: real, not in the future, not before 1945 nor the dossier's receipt."""
    try:
        if "/" in value:
            d, m, y = (int(p) for p in value.split("/"))
            day = dt.date(y, m, d)
        else:
            day = dt.date.fromisoformat(value)
    except ValueError:
        raise ReviewError(f"Ngày “{value}” không hợp lệ: nhập theo dạng ngày/tháng/năm, ví dụ 15/06/2021") from None
    today = today or dt.date.today()
    if day > today:
        raise ReviewError(f"Ngày ban hành {_vn_date(day)} ở tương lai (hôm nay là {_vn_date(today)})")
    if day < EARLIEST_DATE:
        raise ReviewError(f"Ngày ban hành {_vn_date(day)} trước ngày 02/09/1945")
    received = dossier_date(dossier_id)
    if received is not None and day < received:
        raise ReviewError(f"Ngày ban hành {_vn_date(day)} trước ngày tiếp nhận hồ sơ ({_vn_date(received)})")
    return day


def check_number(value: str, doc_type: str | None) -> str:
    """A document number the clerk typed, in Decree 30 form and matching the type's symbol."""
    kind = by_name(doc_type)
    parsed = parse_number(value, kind)
    if parsed is None:
        if kind is not None and kind.number_label != "Số":
            return value
        raise ReviewError(f"Số “{value}” không đúng dạng số/ký hiệu của Nghị định 30, ví dụ {NUMBER_EXAMPLE}")
    if number_rule_issues(parsed):
        raise ReviewError(f"Số “{parsed.number}” sai quy tắc đánh số: số dưới 10 ghi hai chữ số (05), "
                          "từ 10 trở lên không có số 0 ở đầu")
    if check_number_type(parsed, kind):
        assert kind is not None
        want = f" (cần có “{kind.abbreviation}”)" if kind.abbreviation else ""
        raise ReviewError(f"Ký hiệu “{'-'.join(parsed.symbol)}” không khớp loại văn bản {kind.name}{want}")
    return parsed.text


def _record(index: Index, actor: Actor, action: str, target: str, detail: dict) -> None:
    access.record(index, who=actor.name, role=actor.role, action=action, target=target, ip=actor.ip, status=200,
                  detail=detail | {"via": actor.via})


def fix(index: Index, doc_id: str, name: str, value: str | None, actor: Actor, *,
        today: dt.date | None = None) -> Document:
    """Correct one field (validated); the field's review reasons go, the document stays to be approved."""
    doc = index.get_document(doc_id)
    new_value = check_value(doc, name, value, today=today)
    old = getattr(doc.metadata, name)
    if new_value == old.value and old.reason is None:
        return doc
    md = dataclasses.replace(doc.metadata, **{name: Field(new_value, confidence=1.0, reason=None)})
    if name == "doc_type" and md.number.value:  # the number must still fit the new type
        check_number(md.number.value, new_value)
    reasons = tuple(r for r in doc.reasons if not r.startswith(f"{name}:"))
    new = dataclasses.replace(doc, metadata=md, reasons=reasons)
    detail = {"changes": {name: [old.value, new_value]}}
    index.update_document(new, who=actor.name, action="review", detail=detail)
    _record(index, actor, "review", doc_id, detail)
    log.info("document %s: %s corrected by %s", doc_id, name, actor.name)
    return new


def approve(index: Index, store: ObjectStore, doc_id: str, actor: Actor, *, today: dt.date | None = None) -> Document:
    """Clear the document's review: no reason left, PDF/metadata.json/index row/manifest re-made."""
    doc = index.get_document(doc_id)
    if doc.kind != "result":
        raise ReviewError("Chỉ duyệt được văn bản kết quả, không duyệt phiếu tiếp nhận")
    if not doc.dossier_id:
        raise ReviewError("Văn bản chưa có mã hồ sơ: gán mã hồ sơ trước khi duyệt")
    md = doc.metadata
    for name in FIELDS:  # what was machine-read and never fixed must still pass the clerk's rules
        if getattr(md, name).value is not None and name in ("number", "issued_date"):
            check_value(doc, name, getattr(md, name).value, today=today)
    cleared = dataclasses.replace(md, **{n: dataclasses.replace(getattr(md, n), reason=None) for n in FIELDS})
    new = dataclasses.replace(doc, metadata=cleared, needs_review=False, reasons=())
    source = None
    if _pages_kept(store, doc) or (doc.pdf_key and pdf_title(new) != stored_pdf_title(store.get_bytes(doc.pdf_key))):
        source = PageSource(store, index, doc.sha256, [doc], DEFAULT_TASK)  # its title follows the fixed fields
    new = remake(new, store, source)
    detail = {"approved": True, "changes": {"needs_review": [doc.needs_review, False],
                                            "reasons": [list(doc.reasons), []]}}
    if new.pdf_sha256 != doc.pdf_sha256:
        detail["changes"]["pdf_sha256"] = [doc.pdf_sha256, new.pdf_sha256]
    index.update_document(new, who=actor.name, action="review", detail=detail)
    write_manifests(index, store, {doc.dossier_id})
    _record(index, actor, "approve", doc_id, {"dossier": doc.dossier_id, "pdf_sha256": new.pdf_sha256})
    log.info("document %s approved by %s", doc_id, actor.name)
    return new


def write_manifests(index: Index, store: ObjectStore, codes: set[str | None]) -> None:
    """Re-write the manifests of these dossiers."""
    from digitize.pipeline.file import write_dossier_manifest

    for code in sorted(c for c in codes if c):
        write_dossier_manifest(code, index, store)


DEFAULT_TASK = PageTask(path="", kind=InputKind.PDF, page=0)  # the page stage's default settings


def page_task(settings: Any) -> PageTask:
    """The page stage's settings for a page read again during a fix (read at the edge)."""
    return PageTask.for_page(settings, path="", kind=InputKind.PDF, page=0)


def _pages_kept(store: ObjectStore, doc: Document) -> bool:
    return bool(doc.pages) and all(store.exists(layout.page_pdf_key(doc.sha256, p)) for p in doc.pages)


def _source(index: Index, store: ObjectStore, docs: list[Document], task: PageTask | None) -> PageSource:
    return PageSource(store, index, docs[0].sha256, docs, task or DEFAULT_TASK)


def remake(doc: Document, store: ObjectStore, source: PageSource | None = None) -> Document:
    """Store the document's objects again: PDF, text and metadata.json when ``source`` gives every page's
    PDF, else metadata.json only (a PDF that must be rebuilt and cannot be gives ReviewError)."""
    from digitize.pipeline.file import document_metadata, store_document

    if source is not None and _all_pages(source, doc):
        return store_document(doc, store, source)
    if not doc.pdf_key:
        raise ReviewError("Không dựng lại được tệp PDF: các trang đã quét không còn trong kho lưu trữ")
    store.put_bytes(layout.document_key(doc.doc_id, "metadata.json"),
                    json.dumps(document_metadata(doc), ensure_ascii=False, indent=1).encode("utf-8"),
                    "application/json")
    return doc


def _all_pages(source: PageSource, doc: Document) -> bool:
    return bool(doc.pages) and all(source.find(p) is not None for p in doc.pages)


def rebuild(index: Index, store: ObjectStore, doc: Document, actor: Actor, source: PageSource) -> Document:
    """After a structure change: extract the metadata of a part that lost it (from its page results:
    stored, or read again from the original), re-make its PDF and objects, and record it."""
    from digitize.document.extract import extract_metadata

    reasons = [r for r in doc.reasons if r not in (manual.PDF_REBUILD, manual.METADATA_MISSING)]
    md = doc.metadata
    results = None
    if manual.METADATA_MISSING in doc.reasons:
        found = [source.result(p) for p in doc.pages]
        results = None if None in found else [r for r in found if r is not None]
    if results is not None:
        md, md_reasons = extract_metadata(results, dossier_id=doc.dossier_id)
        reasons.extend(md_reasons)
        if not doc.text:
            doc = dataclasses.replace(doc, text="\f".join(r.text for r in results))
    elif manual.METADATA_MISSING in doc.reasons:
        reasons.append(manual.METADATA_MISSING)
    if not doc.dossier_id:
        reasons = [*reasons, *(r for r in doc.reasons if r.startswith("no dossier code found"))]
    doc = dataclasses.replace(doc, metadata=md, reasons=tuple(dict.fromkeys(reasons)), needs_review=True)
    if not _all_pages(source, doc):
        return doc  # stays marked "pdf needs rebuild"
    new = remake(doc, store, source)
    index.update_document(new, who=actor.name, action="remake", detail={"pdf_sha256": new.pdf_sha256})
    return new


def split(index: Index, store: ObjectStore, doc_id: str, at_page: int, actor: Actor, *,
          task: PageTask | None = None) -> tuple[Document, Document]:
    """``manual.split``, then both parts re-made (``task``: the page stage's settings for a page read
    again from the original); both wait for a clerk's approval."""
    source = _source(index, store, [index.get_document(doc_id)], task)
    a, b = manual.split(index, doc_id, at_page, who=actor.name)
    a, b = rebuild(index, store, a, actor, source), rebuild(index, store, b, actor, source)
    write_manifests(index, store, {a.dossier_id})
    _record(index, actor, "split", doc_id, {"at_page": at_page, "parts": [a.doc_id, b.doc_id]})
    return a, b


def merge_previous(index: Index, store: ObjectStore, doc_id: str, actor: Actor, *,
                   task: PageTask | None = None) -> Document:
    """Merge the document with the one before it in the same scanned file (``manual.merge``), re-made."""
    doc = index.get_document(doc_id)
    before = [d for d in index.list_documents(sha256=doc.sha256, kind=doc.kind) if d.pages and doc.pages
              and d.pages[0] < doc.pages[0]]
    if not before:
        raise ReviewError("Không có văn bản nào đứng trước văn bản này trong cùng tệp quét")
    try:
        return merge(index, store, [before[-1].doc_id, doc_id], actor, task=task)
    except manual.ManualFixError as e:
        raise ReviewError(f"Không gộp được: {e.message}") from e


def merge(index: Index, store: ObjectStore, doc_ids: Sequence[str], actor: Actor, *,
          task: PageTask | None = None) -> Document:
    """``manual.merge`` of documents of one scanned file, then the merged document re-made (its PDF from
    the parts' pages); it waits for a clerk's approval."""
    source = _source(index, store, [index.get_document(i) for i in doc_ids], task)
    merged = manual.merge(index, doc_ids, who=actor.name)
    merged = rebuild(index, store, merged, actor, source)
    write_manifests(index, store, {merged.dossier_id})
    _record(index, actor, "merge", merged.doc_id, {"documents": list(doc_ids)})
    return merged


def assign(index: Index, store: ObjectStore, doc_id: str, code: str, actor: Actor) -> Document:
    """``manual.assign`` (both code formats validated), then the manifests of both dossiers re-written."""
    from digitize.errors import DossierCodeError

    old = index.get_document(doc_id)
    try:
        doc = manual.assign(index, doc_id, code.strip(), who=actor.name)
    except DossierCodeError as e:
        raise ReviewError(f"Mã hồ sơ “{code.strip()[:80]}” không hợp lệ: dạng cũ 000.00.13.H56-210615-0001 "
                          "hoặc dạng mới H26.107.01-260203-010023") from e
    write_manifests(index, store, {old.dossier_id, doc.dossier_id})
    _record(index, actor, "assign", doc_id, {"from": old.dossier_id, "to": doc.dossier_id})
    return doc


def set_blank(index: Index, store: ObjectStore, doc_id: str, page: int, blank: bool, actor: Actor, *,
              task: PageTask | None = None) -> Document:
    """Mark a page of the document blank (it leaves the document) or a blank page of the same file not
    blank (it joins the document: a page no document holds is read again from the original); recorded
    in history and the page's kind."""
    doc = index.get_document(doc_id)
    texts = doc.text.split("\f") if len(doc.text.split("\f")) == len(doc.pages) else None
    per_page = dict(zip(doc.pages, texts, strict=True)) if texts else {}
    if blank:
        if page not in doc.pages:
            raise ReviewError(f"Trang {page} không thuộc văn bản này")
        if len(doc.pages) == 1:
            raise ReviewError("Văn bản chỉ còn một trang: không đánh dấu trang trắng được")
        new_pages = tuple(p for p in doc.pages if p != page)
    else:
        kinds = {r["page"]: r["kind"] for r in index.list_pages(doc.sha256)}
        if kinds.get(page) != "blank":
            raise ReviewError(f"Trang {page} của tệp quét không phải trang trắng")
        new_pages = tuple(sorted((*doc.pages, page)))
    text = "\f".join(per_page.get(p, "") for p in new_pages) if texts else doc.text
    source = _source(index, store, [doc], task)  # its PDF read before the fix re-makes it
    new = dataclasses.replace(doc, pages=new_pages, text=text, needs_review=True,
                              reasons=tuple(dict.fromkeys((*doc.reasons, manual.PDF_REBUILD))),
                              pdf_key=None, pdf_sha256=None, text_key=None)
    index.update_document(new, who=actor.name, action="blank" if blank else "not_blank",
                          detail={"page": page, "pages": [list(doc.pages), list(new_pages)]})
    index.set_page_kinds(doc.sha256, {page: "blank" if blank else "document"})
    new = rebuild(index, store, new, actor, source)
    write_manifests(index, store, {new.dossier_id})
    _record(index, actor, "blank" if blank else "not_blank", doc_id, {"page": page})
    return new
