"""The portal API routes (Công văn 7197/BKHCN-CĐSQG shapes under ``/api/v1``).

Handlers that touch the index or the store are plain ``def`` (FastAPI runs them in its thread
pool); the upload handler is ``async`` because it reads the request stream itself, after the key
was checked, with a size limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from digitize.api import schemas, validate
from digitize.api.auth import audit, require
from digitize.api.context import ApiContext, ctx
from digitize.api.search import SearchQuery, search
from digitize.errors import (
    DigitizeError,
    EmptyFileError,
    ImageTooLargeError,
    InputError,
    IntegrityError,
    NotFoundError,
    StorageError,
    UnsupportedTypeError,
)
from digitize.handoff.package import stream_package
from digitize.handoff.sign import VIETNAM, ensure_signed, served_copy
from digitize.models import Document
from digitize.models import Field as MetaField
from storage import access
from storage.access import ApiKey, Signature

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers on top of the file itself
METADATA_NAMES = ("doc_type", "number", "issued_date", "issuer", "place", "summary", "signer", "signer_position")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": schemas.ErrorOut} for code in codes}


AUTH_ERRORS = (401, 403)
router = APIRouter(prefix="/api/v1")


# --- conversions -------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _reviews(c: ApiContext, doc_ids: list[str]) -> dict[str, tuple[str, dt.datetime]]:
    """The latest review (who, when) of each document that has one."""
    return {d: (who, _utc(at)) for d, (who, at) in c.index.latest_reviews(doc_ids).items()}


def review_state(doc: Document, review: tuple[str, dt.datetime] | None) -> str:
    """pending (a clerk must look), approved (a clerk cleared it) or not_needed (nothing was doubtful)."""
    if doc.needs_review:
        return "pending"
    return "approved" if review else "not_needed"


def visible(key: ApiKey, doc: Document) -> bool:
    """What a key may see: the portal role only documents that need no review (clean or approved)."""
    return key.role != "portal" or not doc.needs_review


def _visible_one(key: ApiKey, doc: Document) -> Document:
    if not visible(key, doc):  # 404, not 403: the portal does not learn what is still in review
        raise NotFoundError(f"document {doc.doc_id} not found")
    return doc


def _signatures(c: ApiContext, docs: list[Document]) -> dict[str, Signature]:
    """The signatures in force (covering the current PDF) of these documents."""
    sigs = access.get_signatures(c.index, [d.doc_id for d in docs if d.pdf_key])
    return {d.doc_id: sigs[d.doc_id] for d in docs if d.doc_id in sigs and sigs[d.doc_id].covers(d.pdf_sha256)}


def _document_out(c: ApiContext, doc: Document, review: tuple[str, dt.datetime] | None,
                  sig: Signature | None = None) -> dict[str, Any]:
    values = doc.metadata.values()
    official = dict(c.official(doc.metadata, page_amount=len(doc.pages), dossier_id=doc.dossier_id))
    official.setdefault("DossierCode", doc.dossier_id)
    status = "needs_review" if doc.needs_review else ("ready" if doc.pdf_key else "no_pdf")
    return {
        "doc_id": doc.doc_id, "dossier_code": doc.dossier_id, "dossier_source": doc.dossier_source,
        "kind": doc.kind, "source": doc.source, "pages": list(doc.pages), "status": status,
        "metadata": {k: values[k] for k in METADATA_NAMES}, "official": official,
        "contains_personal_id": doc.metadata.contains_personal_id,
        "review": {"needs_review": doc.needs_review, "reasons": list(doc.reasons),
                   "reviewed_by": review[0] if review else None, "reviewed_at": review[1] if review else None,
                   "state": review_state(doc, review)},
        "pdf_sha256": doc.pdf_sha256,
        "signed": sig is not None,
        "signature": {"signed_at": sig.signed_at.astimezone(VIETNAM), "signer": sig.signer,
                      "sha256": sig.signed_sha256} if sig else None,
        "download_path": f"/api/v1/documents/download/{doc.doc_id}" if doc.pdf_key else None,
    }


def _documents_out(c: ApiContext, docs: list[Document]) -> list[dict[str, Any]]:
    reviews = _reviews(c, [d.doc_id for d in docs])
    sigs = _signatures(c, docs)
    return [_document_out(c, d, reviews.get(d.doc_id), sigs.get(d.doc_id)) for d in docs]


def _handout(c: ApiContext, docs: list[Document], key: ApiKey) -> tuple[list[Document], dict[str, Signature]]:
    """The documents as they leave the agency: reviewed ones signed (once) when a certificate is configured,
    each with its signed copy's key and sha256 in place of the unsigned PDF's."""
    sigs = _signatures(c, docs)
    if c.signer is not None:
        for doc in docs:
            if doc.pdf_key and not doc.needs_review and doc.doc_id not in sigs:
                sigs[doc.doc_id] = ensure_signed(doc, c.index, c.store, c.signer, who=key.name, keys=c.keys)
    return [served_copy(d, sigs.get(d.doc_id)) for d in docs], sigs


def _detail_out(c: ApiContext, doc: Document) -> dict[str, Any]:
    out = _documents_out(c, [doc])[0]
    out["fields"] = {k: dataclasses.asdict(getattr(doc.metadata, k)) for k in METADATA_NAMES}
    out["text"] = doc.text
    out["history"] = [{"action": h["action"], "who": h["who"], "at": _utc(h["at"]), "detail": h["detail"]}
                      for h in c.index.history_of(doc.doc_id)]
    return out


def _dossier_docs(c: ApiContext, code: str, key: ApiKey) -> list[Document]:
    """The dossier's result documents the key may see (text left empty), in (source, first page) order;
    404 when none."""
    docs = [d for d in c.index.dossier_documents(validate.dossier_code(code)) if visible(key, d)]
    if not docs:
        raise NotFoundError(f"dossier {code} not found")
    return docs


# --- dossiers and documents --------------------------------------------------------------------


@router.get("/dossiers/{code}", response_model=schemas.DossierOut, responses=_errors(400, 404, *AUTH_ERRORS))
def get_dossier(code: str, key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """A dossier's result documents with metadata, status and review state."""
    docs = _dossier_docs(c, code, key)
    pending = sum(d.needs_review for d in docs)
    return {"dossier_code": code, "status": "needs_review" if pending else "ready", "document_count": len(docs),
            "needs_review_count": pending, "documents": _documents_out(c, docs)}


@router.get("/dossiers/{code}/package", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The dossier's zip (PDFs, metadata.json, SHA256SUMS)"},
                       **_errors(400, 404, 503, *AUTH_ERRORS)})
def get_package(code: str, request: Request, key: ApiKey = Depends(require("download")),
                c: ApiContext = Depends(ctx)) -> StreamingResponse:
    """The dossier's hand-off package, streamed as a zip."""
    docs, sigs = _handout(c, _dossier_docs(c, code, key), key)
    for doc in docs:
        if doc.pdf_key:
            _check_object(c, doc)
    audit(request, key, "package", code, 200, {"documents": [d.doc_id for d in docs], "signed": sorted(sigs)})
    return StreamingResponse(stream_package(code, docs, c.store, c.official, sigs), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{code}.zip"'})


@router.get("/documents/download/{doc_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The document's PDF"},
                       307: {"description": "Redirect to a short-lived presigned object-storage URL"},
                       **_errors(400, 404, 503, *AUTH_ERRORS)})
def download_document(doc_id: str, request: Request, key: ApiKey = Depends(require("download")),
                      c: ApiContext = Depends(ctx)) -> Response:
    """The document's PDF: streamed, or a 307 to a presigned URL when the store offers one."""
    doc = _visible_one(key, c.index.get_document(validate.document_id(doc_id)))
    if not doc.pdf_key:
        raise NotFoundError(f"document {doc_id} has no PDF yet")
    [doc], sigs = _handout(c, [doc], key)
    signed = doc.doc_id in sigs
    presign = getattr(c.store, "presigned_get", None)
    if presign is not None:
        url = presign(doc.pdf_key, expires=c.presign_ttl)
        audit(request, key, "download", doc_id, 307, {"presigned": True, "ttl_s": c.presign_ttl.total_seconds(),
                                                      "signed": signed})
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    _check_object(c, doc)
    stream = c.store.open(doc.pdf_key)
    audit(request, key, "download", doc_id, 200, {"pdf_sha256": doc.pdf_sha256, "signed": signed})
    headers = {"Content-Disposition": f'attachment; filename="{doc_id}.pdf"', "Cache-Control": "no-store",
               "X-Digitize-Signed": "true" if signed else "false"}
    if doc.pdf_sha256:
        headers["ETag"] = f'"{doc.pdf_sha256}"'
    return StreamingResponse(_verified(stream, doc), media_type="application/pdf", headers=headers)


def _check_object(c: ApiContext, doc: Document) -> None:
    """Before a response starts: the PDF exists and its bytes match the recorded sha256 (else 503)."""
    assert doc.pdf_key is not None
    if not doc.pdf_sha256:
        if not c.store.exists(doc.pdf_key):
            raise StorageError(f"the PDF of document {doc.doc_id} is missing from the object store")
        return
    h = hashlib.sha256()
    try:
        with c.store.open(doc.pdf_key) as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                h.update(chunk)
    except NotFoundError as e:
        raise StorageError(f"the PDF of document {doc.doc_id} is missing from the object store") from e
    if h.hexdigest() != doc.pdf_sha256:
        log.error("document %s: stored PDF does not match its recorded sha256", doc.doc_id)
        raise IntegrityError(f"the stored PDF of document {doc.doc_id} does not match its recorded sha256")


def _verified(stream: Any, doc: Document) -> Iterator[bytes]:
    """The object's chunks; raise at the end (cutting the response short) when the sha256 differs."""
    h = hashlib.sha256()
    with stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            h.update(chunk)
            yield chunk
    if doc.pdf_sha256 and h.hexdigest() != doc.pdf_sha256:
        log.error("download %s: stored PDF does not match its recorded sha256", doc.doc_id)
        raise IntegrityError(f"{doc.pdf_key}: stored bytes do not match the recorded sha256")


@router.get("/documents/{doc_id}", response_model=schemas.DocumentDetailOut,
            responses=_errors(400, 404, *AUTH_ERRORS))
def get_document(doc_id: str, key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """One document with its confidences, text and change history."""
    return _detail_out(c, _visible_one(key, c.index.get_document(validate.document_id(doc_id))))


@router.put("/documents/{doc_id}", response_model=schemas.DocumentDetailOut,
            responses=_errors(400, 404, *AUTH_ERRORS))
def update_document(doc_id: str, request: Request, body: schemas.DocumentUpdate = Body(...),
                    key: ApiKey = Depends(require("review")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Corrections from review: metadata values, dossier code, review flag. Every change is kept in history."""
    old = c.index.get_document(validate.document_id(doc_id))
    doc, changes = apply_update(old, body, key.name)
    detail: dict[str, Any] = {"changes": changes}
    if body.note:
        detail["note"] = body.note
    c.index.update_document(doc, who=key.name, action="review", detail=detail)
    audit(request, key, "review", doc_id, 200, detail)
    return _detail_out(c, doc)


def apply_update(doc: Document, body: schemas.DocumentUpdate, who: str) -> tuple[Document, dict[str, list[Any]]]:
    """The corrected document and the changes made, as ``{name: [old, new]}``."""
    sent = body.model_fields_set
    changes: dict[str, list[Any]] = {}
    md = doc.metadata
    for name in METADATA_NAMES:
        if name not in sent:
            continue
        new = (getattr(body, name) or "").strip() or None
        old = getattr(md, name).value
        if new != old:
            md = dataclasses.replace(md, **{name: MetaField(new, confidence=1.0, reason=None)})
            changes[name] = [old, new]
    doc = dataclasses.replace(doc, metadata=md)
    if "dossier_code" in sent and body.dossier_code != doc.dossier_id:
        changes["dossier_code"] = [doc.dossier_id, body.dossier_code]
        doc = dataclasses.replace(doc, dossier_id=body.dossier_code, dossier_source="manual" if body.dossier_code
                                  else None)
    if "needs_review" in sent and body.needs_review is not None and body.needs_review != doc.needs_review:
        reasons = () if not body.needs_review else (*doc.reasons, f"flagged by {who}")
        changes["needs_review"] = [doc.needs_review, body.needs_review]
        if list(doc.reasons) != list(reasons):
            changes["reasons"] = [list(doc.reasons), list(reasons)]
        doc = dataclasses.replace(doc, needs_review=body.needs_review, reasons=reasons)
    return doc, changes


# --- import and jobs ---------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(name: str | None) -> str:
    """The base name of an uploaded file, without directories or control characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("", base).strip()[:200]
    return base if base not in ("", ".", "..") else "upload"


class _TooLarge(ImageTooLargeError):
    reason = "upload_too_large"


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge(f"the upload is larger than the limit of {limit} bytes")
        yield chunk


def _store_upload(c: ApiContext, upload: UploadFile, filename: str, who: str) -> dict[str, Any]:
    """Hash the upload, check its type, store the original and record the file and its job."""
    from digitize.page.ingest import detect_kind  # numpy comes with it: only load it when a file arrives
    from digitize.pipeline.file import Admission, admission, admit

    src = upload.file
    src.seek(0)
    head = src.read(1024)
    if not head:
        raise EmptyFileError("empty file (0 bytes)", path=filename)
    kind = detect_kind(head)
    src.seek(0)
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix="digitize-upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
        sha = h.hexdigest()
        existing = c.index.get_file(sha)
        # the one rule (pipeline.file.admission): done or still in progress = a duplicate; failed = retried
        duplicate = admission(existing) in (Admission.DUPLICATE, Admission.IN_PROGRESS)
        if not duplicate:
            admit(c.store, c.index, sha256=sha, source=filename, path=Path(tmp), kind=kind, size=size,
                  status="queued")
    finally:
        Path(tmp).unlink(missing_ok=True)
    job_id = (c.on_import(sha, filename) if (c.on_import and not duplicate) else None) or f"import-{uuid.uuid4().hex}"
    access.create_job(c.keys, job_id=job_id, sha256=sha, filename=filename, who=who)
    status = existing["status"] if duplicate and existing else "queued"
    return {"job_id": job_id, "sha256": sha, "filename": filename, "size": size, "status": status,
            "duplicate": duplicate}


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "one scan: PDF, TIFF, JPEG or PNG"}}}}},
    }
}


@router.post("/documents/import", status_code=202, response_model=schemas.ImportOut, openapi_extra=IMPORT_BODY,
             responses=_errors(400, 413, 415, 422, *AUTH_ERRORS))
async def import_document(request: Request, key: ApiKey = Depends(require("import")),
                          c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Upload one scan (multipart field ``file``); it is stored and queued. Returns the job id."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise UnsupportedTypeError("send the scan as multipart/form-data with a field named 'file'")
    limit = c.settings.max_upload_bytes + MULTIPART_OVERHEAD
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge(f"the upload is larger than the limit of {c.settings.max_upload_bytes} bytes")
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=5)
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise InputError(f"malformed multipart body: {e.message}") from e
    except ClientDisconnect as e:  # the client hung up mid-upload: nothing was stored
        log.warning("import by %s: the upload was cut off before it was complete", key.name)
        raise InputError("the upload was cut off before it was complete") from e
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("the multipart body has no file field named 'file'")
        if upload.size is not None and upload.size > c.settings.max_upload_bytes:
            raise _TooLarge(f"the upload is larger than the limit of {c.settings.max_upload_bytes} bytes")
        filename = clean_filename(upload.filename)
        out = await run_in_threadpool(_store_upload, c, upload, filename, key.name)
    except DigitizeError as e:
        await run_in_threadpool(audit, request, key, "import", "-", e.http_status, {"error": e.reason})
        raise
    finally:
        await form.close()
    await run_in_threadpool(audit, request, key, "import", out["sha256"], 202,
                            {k: out[k] for k in ("job_id", "filename", "size", "duplicate")})
    log.info("import %s (%d bytes) by %s: job %s", out["sha256"][:12], out["size"], key.name, out["job_id"])
    return out


@router.get("/jobs/{job_id}", response_model=schemas.JobOut, responses=_errors(400, 404, *AUTH_ERRORS))
def get_job(job_id: str, key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """An import job: its file's status, page counts and the documents found so far."""
    job = access.get_job(c.keys, validate.job_id(job_id))
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    f = c.index.get_file(job["sha256"]) or {}
    docs = [d.doc_id for d in c.index.list_documents(sha256=job["sha256"]) if visible(key, d)]
    return {"job_id": job["job_id"], "sha256": job["sha256"], "filename": job["filename"],
            "status": f.get("status", "unknown"), "page_count": f.get("page_count") or 0,
            "pages_done": f.get("pages_done") or 0, "pages_failed": f.get("pages_failed") or 0,
            "error_reason": f.get("error_reason"), "error_message": f.get("error_message"), "documents": docs,
            "created_by": job["created_by"], "created_at": _utc(job["created_at"])}


# --- search ------------------------------------------------------------------------------------


@router.get("/search", response_model=schemas.SearchOut, responses=_errors(*AUTH_ERRORS))
def search_documents(q: str | None = Query(None, max_length=200, description="words, with or without diacritics"),
                     type: str | None = Query(None, max_length=200, description="document type, e.g. Quyết định"),
                     issuer: str | None = Query(None, max_length=500, description="part of the issuer's name"),
                     date_from: dt.date | None = Query(None, alias="from", description="issued on or after"),
                     date_to: dt.date | None = Query(None, alias="to", description="issued on or before"),
                     limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=100_000),
                     key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Result documents matching every word (diacritics optional), exact-diacritic matches first."""
    query = SearchQuery(q=q, doc_type=type, issuer=issuer, date_from=date_from, date_to=date_to, limit=limit,
                        offset=offset, cleared_only=key.role == "portal")
    found = search(c.index, query)
    return {"query": q, "total": found.total, "total_is_exact": found.total_is_exact, "limit": limit,
            "offset": offset, "results": _documents_out(c, found.items)}


# --- administration ----------------------------------------------------------------------------


@router.post("/keys", status_code=201, response_model=schemas.KeyCreatedOut, responses=_errors(400, 409, *AUTH_ERRORS))
def create_key(request: Request, body: schemas.KeyCreate, key: ApiKey = Depends(require("admin")),
               c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Create an API key; its token is in this response only."""
    token = access.create_key(c.keys, body.name, body.role)
    row = next(k for k in access.list_keys(c.keys) if k["name"] == body.name)
    audit(request, key, "key_create", body.name, 201, {"role": body.role})
    return _key_out(row) | {"token": token}


@router.get("/keys", response_model=list[schemas.KeyOut], responses=_errors(*AUTH_ERRORS))
def list_keys(key: ApiKey = Depends(require("admin")), c: ApiContext = Depends(ctx)) -> list[dict[str, Any]]:
    """All API keys (never their secrets)."""
    return [_key_out(k) for k in access.list_keys(c.keys)]


@router.delete("/keys/{name}", status_code=204, response_class=Response, responses=_errors(404, *AUTH_ERRORS))
def revoke_key(name: str, request: Request, key: ApiKey = Depends(require("admin")),
               c: ApiContext = Depends(ctx)) -> Response:
    """Revoke a key by name (it stops working at once)."""
    access.revoke_key(c.keys, name)
    audit(request, key, "key_revoke", name, 204)
    return Response(status_code=204)


def _key_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"key_id": row["key_id"], "name": row["name"], "role": row["role"], "created_at": _utc(row["created_at"]),
            "revoked_at": _utc(row["revoked_at"]) if row["revoked_at"] else None}


@router.get("/audit", response_model=list[schemas.AuditOut], responses=_errors(*AUTH_ERRORS))
def audit_log(who: str | None = Query(None, max_length=64), action: str | None = Query(None, max_length=32),
              limit: int = Query(100, ge=1, le=1000), key: ApiKey = Depends(require("admin")),
              c: ApiContext = Depends(ctx)) -> list[dict[str, Any]]:
    """The newest audit entries (downloads, changes, denials)."""
    rows = access.audit_entries(c.keys, who=who, action=action, limit=limit)
    return [{k: row[k] for k in ("who", "role", "action", "target", "ip", "status", "detail")} | {"at": _utc(row["at"])}
            for row in rows]
