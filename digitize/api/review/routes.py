"""The review station's pages and actions under ``/review`` (server-rendered HTML, Vietnamese).

Every page and image needs a clerk session (see :mod:`digitize.api.review.session`); every POST needs
the session's CSRF token. Changes go through :mod:`digitize.handoff.review`, so the station, the CLI
and the API keep the same validation, history and audit log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from digitize.api import validate
from digitize.api.auth import audit, client_ip
from digitize.api.context import ApiContext, ctx
from digitize.api.review import pages, texts
from digitize.api.review.queue import ORDERS, Filters, counts, next_after, pending
from digitize.api.review.session import (
    COOKIE,
    LOGIN_COOKIE,
    PATH,
    Session,
    StationError,
    check_csrf,
    current,
    safe_next,
)
from digitize.document.validate import dossier_date
from digitize.errors import DigitizeError, InputError, NotFoundError
from digitize.handoff import review
from digitize.models import Document
from digitize.text.doctypes import DOC_TYPES
from storage import access

log = logging.getLogger(__name__)
router = APIRouter(prefix=PATH, include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'self'; img-src 'self'; "
           "script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"}


def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A template rendered with the station's security headers."""
    response = templates.TemplateResponse(request, name, values, status_code=status)
    response.headers.update(HEADERS)
    return response


def _actor(request: Request, s: Session) -> review.Actor:
    return review.Actor(s.key.name, s.key.role, client_ip(request), via="station")


def _document(c: ApiContext, doc_id: str) -> Document:
    try:
        doc = c.index.get_document(validate.document_id(doc_id))
    except (NotFoundError, InputError):
        raise StationError(404, "Không tìm thấy văn bản này trong kho lưu trữ.") from None
    if doc.kind != "result":
        raise StationError(404, "Không tìm thấy văn bản này trong kho lưu trữ.")
    return doc


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


# --- signing in and out ------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "") -> HTMLResponse:
    """The sign-in page (an API key of the clerk or admin role)."""
    import secrets

    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "login.html", next=safe_next(next), csrf=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, path=PATH, secure=True, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
def login(request: Request, key: str = Form(""), csrf: str = Form(""), next: str = Form(""),
          c: ApiContext = Depends(ctx)) -> Response:
    """Check the key; a clerk or admin key opens a session (cookie), others are refused."""
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not csrf or csrf != expected:
        raise StationError(403, "Phiên đăng nhập đã hết hạn hoặc yêu cầu bị giả mạo. Hãy tải lại trang đăng nhập.")
    api_key = access.authenticate(c.keys, key.strip())
    if api_key is None:
        audit(request, None, "review_login", "-", 401)
        return page(request, "login.html", 401, next=safe_next(next), csrf=expected,
                    error="Khóa không đúng hoặc đã bị thu hồi.")
    if not api_key.may("review"):
        audit(request, api_key, "denied", PATH, 403, {"permission": "review"})
        return page(request, "login.html", 403, next=safe_next(next), csrf=expected,
                    error="Khóa này không có quyền duyệt hồ sơ (cần vai trò cán bộ duyệt hoặc quản trị).")
    sid, _session = request.app.state.review_sessions.open(api_key)
    audit(request, api_key, "review_login", PATH, 303)
    response = _see_other(safe_next(next))
    response.set_cookie(COOKIE, sid, path=PATH, secure=True, httponly=True, samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), s: Session = Depends(current)) -> Response:
    """End the session."""
    check_csrf(s, csrf)
    request.app.state.review_sessions.close(request.cookies.get(COOKIE))
    audit(request, s.key, "review_logout", PATH, 303)
    response = _see_other(f"{PATH}/login")
    response.delete_cookie(COOKIE, path=PATH, secure=True, httponly=True, samesite="strict")
    return response


# --- the queue ---------------------------------------------------------------------------------


@router.get("")
def queue(request: Request, s: Session = Depends(current), c: ApiContext = Depends(ctx)) -> HTMLResponse:
    """Documents needing review, with counts and filters."""
    f = Filters.parse(dict(request.query_params))
    everything = pending(c.index, f.order)
    shown = [d for d in everything if f.keeps(d)]
    rows = [{"doc": d, "reasons": [texts.doc_reason(r) for r in d.reasons][:3], "more": max(0, len(d.reasons) - 3)}
            for d in shown]
    return page(request, "queue.html", s=s, f=f, rows=rows, total=len(everything), counts=counts(everything),
                groups=texts.GROUPS, orders=ORDERS, flash=_flash(s))


def _flash(s: Session) -> str | None:
    message, s.flash = s.flash, None
    return message


# --- one document ------------------------------------------------------------------------------


def _fields(c: ApiContext, doc: Document) -> list[dict[str, Any]]:
    results = pages.page_results(c.store, doc)
    out = []
    for name, (label, _) in review.FIELDS.items():
        f = getattr(doc.metadata, name)
        value = f.value or ""
        if name == "issued_date" and value:
            value = "/".join(reversed(value.split("-")))
        boxes = [dataclasses.asdict(b) for b in pages.locate(f.value, results)] if f.value else []
        doc_reasons = [r for r in doc.reasons if r.startswith(f"{name}:")]
        why = texts.field_reason(f.reason) or (texts.doc_reason(doc_reasons[0]).split(": ", 1)[1]
                                                if doc_reasons else None)
        out.append({"name": name, "label": label, "value": value, "confidence": texts.confidence(f.confidence),
                    "weak": f.confidence < 0.8, "why": why, "boxes": boxes, "long": name == "summary"})
    return sorted(out, key=lambda x: x["why"] is None)  # fields with a reason first


@router.get("/doc/{doc_id}")
def document(doc_id: str, request: Request, s: Session = Depends(current),
             c: ApiContext = Depends(ctx)) -> HTMLResponse:
    """One document: its page images beside its fields, reasons first."""
    doc = _document(c, doc_id)
    f = Filters.parse(dict(request.query_params))
    kinds = {r["page"]: r["kind"] for r in c.index.list_pages(doc.sha256)}
    received = dossier_date(doc.dossier_id)
    history = c.index.history_of(doc.doc_id)[-8:][::-1]
    types = {t.name: t.abbreviation or "" for t in DOC_TYPES}
    return page(request, "document.html", s=s, doc=doc, f=f, q=f.query(), fields=_fields(c, doc),
                reasons=[texts.doc_reason(r) for r in doc.reasons], blanks=sorted(p for p, k in kinds.items()
                                                                                  if k == "blank"),
                received=received.isoformat() if received else "", types=types, history=history, actions=texts.ACTIONS,
                has_images=bool(doc.pdf_key) or bool(pages.page_results(c.store, doc)), flash=_flash(s),
                pending_count=len(pending(c.index)))


@router.get("/doc/{doc_id}/page/{page_no}")
def page_image(doc_id: str, page_no: int, request: Request, s: Session = Depends(current),
               c: ApiContext = Depends(ctx)) -> Response:
    """The stored image of one page of the document (cached by the browser for the session's user only)."""
    doc = _document(c, doc_id)
    try:
        data, media = pages.page_image(c.store, doc, page_no)
    except NotFoundError:
        raise StationError(404, "Không có ảnh của trang này.") from None
    etag = f'"{(doc.pdf_sha256 or doc.sha256)[:32]}-{page_no}"'
    headers = {"Cache-Control": "private, max-age=3600", "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media, headers=headers)


@router.post("/doc/{doc_id}/fix")
async def fix(doc_id: str, request: Request, s: Session = Depends(current), c: ApiContext = Depends(ctx)) -> Response:
    """Correct one field: JSON ``{"field", "value"}`` with the ``X-CSRF-Token`` header; the answer says the
    value stored or, with 400, why not (in Vietnamese)."""
    check_csrf(s, request.headers.get("x-csrf-token"))
    try:
        body = json.loads(await request.body())
        name, value = str(body["field"]), body.get("value")
    except (ValueError, KeyError, TypeError):
        raise StationError(400, "Yêu cầu không hợp lệ.") from None
    from fastapi.concurrency import run_in_threadpool

    def run() -> Document:
        _document(c, doc_id)
        return review.fix(c.index, doc_id, name, None if value is None else str(value), _actor(request, s))

    try:
        doc = await run_in_threadpool(run)
    except review.ReviewError as e:
        return JSONResponse({"ok": False, "message": e.message}, status_code=400, headers=HEADERS)
    stored = getattr(doc.metadata, name).value or ""
    shown = "/".join(reversed(stored.split("-"))) if name == "issued_date" and stored else stored
    return JSONResponse({"ok": True, "value": shown}, headers=HEADERS)


@router.post("/doc/{doc_id}/approve")
def approve(doc_id: str, request: Request, csrf: str = Form(""), q: str = Form(""), s: Session = Depends(current),
            c: ApiContext = Depends(ctx)) -> Response:
    """Approve the document and open the next one in the queue (or the queue when it is empty)."""
    check_csrf(s, csrf)
    _document(c, doc_id)
    f = Filters.parse(dict(_parse_qs(q)))
    try:
        review.approve(c.index, c.store, doc_id, _actor(request, s))
    except DigitizeError as e:
        s.flash = f"Chưa duyệt được: {e.message if isinstance(e, review.ReviewError) else str(e)}"
        return _see_other(f"{PATH}/doc/{doc_id}?{q}")
    s.flash = "Đã duyệt văn bản."
    nxt = next_after(c.index, f, doc_id)
    return _see_other(f"{PATH}/doc/{nxt}?{q}" if nxt else f"{PATH}?{q}")


@router.get("/doc/{doc_id}/skip")
def skip(doc_id: str, request: Request, s: Session = Depends(current), c: ApiContext = Depends(ctx)) -> Response:
    """Leave the document for later and open the next one."""
    f = Filters.parse(dict(request.query_params))
    nxt = next_after(c.index, f, _document(c, doc_id).doc_id)
    return _see_other(f"{PATH}/doc/{nxt}?{f.query()}" if nxt else f"{PATH}?{f.query()}")


def _parse_qs(q: str) -> list[tuple[str, str]]:
    import urllib.parse

    return urllib.parse.parse_qsl(q)[:10]


@router.post("/doc/{doc_id}/structure")
def structure(doc_id: str, request: Request, csrf: str = Form(""), action: str = Form(""), code: str = Form(""),
              page_no: int = Form(0), q: str = Form(""), s: Session = Depends(current),
              c: ApiContext = Depends(ctx)) -> Response:
    """Structure fixes: assign a dossier code, split before a page, merge with the previous document,
    mark a page blank or not blank (the CLI's operations, same history and audit)."""
    check_csrf(s, csrf)
    doc = _document(c, doc_id)
    actor = _actor(request, s)
    target = doc.doc_id
    task = review.page_task(c.settings)  # a page read again from the original: the server's OCR settings
    try:
        if action == "assign":
            review.assign(c.index, c.store, doc.doc_id, code, actor)
            s.flash = "Đã gán mã hồ sơ."
        elif action == "split":
            _a, b = review.split(c.index, c.store, doc.doc_id, page_no, actor, task=task)
            s.flash = f"Đã tách văn bản: phần sau (từ trang {page_no}) là văn bản {b.doc_id}."
        elif action == "merge":
            target = review.merge_previous(c.index, c.store, doc.doc_id, actor, task=task).doc_id
            s.flash = "Đã gộp với văn bản trước."
        elif action in ("blank", "not_blank"):
            review.set_blank(c.index, c.store, doc.doc_id, page_no, action == "blank", actor, task=task)
            s.flash = f"Đã đánh dấu trang {page_no} là {'trang trắng' if action == 'blank' else 'không trắng'}."
        else:
            raise StationError(400, "Thao tác không hợp lệ.")
    except review.ReviewError as e:
        s.flash = f"Không thực hiện được: {e.message}"
    except DigitizeError as e:  # the manual module's own refusals (English messages from the CLI)
        log.info("structure fix %s on %s refused: %s", action, doc_id, e)
        s.flash = "Không thực hiện được thao tác này trên văn bản (xem điều kiện trong hướng dẫn)."
    return _see_other(f"{PATH}/doc/{target}?{q}")
