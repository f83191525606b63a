"""Cutting a file's pages into dossiers and result documents.

Rules (issue 4, DESIGN.md contract 3):

- A **separator sheet** is a page whose QR payload is exactly a valid dossier code (and which is not a
  receipt or a document page). It starts a dossier; it is part of no document. A sheet whose QR could
  not be read is still recognised by its title "PHIẾU PHÂN TÁCH HỒ SƠ" and the code in its text.
- A **receipt** ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", with "Mã hồ sơ: …" and/or a Code128 of
  the code) identifies the dossier of the documents after it; it becomes a plan of kind "receipt".
  A receipt after documents of the current dossier starts a new dossier.
- The code of a document comes from, in priority order: separator QR > receipt barcode > receipt
  text > file name > a "Mã hồ sơ" line (or a dossier-code QR) in the document itself. Sources that
  disagree are named, with both values, in the reasons.
- A result document starts at a page whose header carries its own number line ("Số: 12/QĐ-UBND", or the
  bare "Số:" label whose digits were handwritten): a short line starting with the label, in the left half
  of the top third. A page with the national motto ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") but no number
  line starts a document only when none is open: otherwise it is an attachment (rules, programme, a form
  of an annex). Numbers cited in running text ("… theo Quyết định số 147/2009/QĐ-UBND …") never start
  one. Other pages continue the open document.
- Blank pages belong to no document. Failed pages stay in the document they fall in (never dropped),
  with a reason. Every page of the file gets a :class:`PageKind`.

All text matching is done on diacritic-folded, space-free text with fuzzy scores, because OCR loses
diacritics and breaks words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from digitize.models import DocumentPlan, PageKind, PageResult, Word
from digitize.text import dossier_code
from digitize.text.vntext import fold

log = logging.getLogger(__name__)

SEPARATOR = "separator"
RECEIPT_BARCODE = "receipt_barcode"
RECEIPT_TEXT = "receipt_text"
FILENAME = "filename"
TEXT = "text"
PRIORITY = (SEPARATOR, RECEIPT_BARCODE, RECEIPT_TEXT, FILENAME, TEXT)
_SOURCE_WORDS = {SEPARATOR: "separator sheet", RECEIPT_BARCODE: "receipt barcode", RECEIPT_TEXT: "receipt text",
                 FILENAME: "file name", TEXT: "document text"}

# the national motto's two lines, or the Party's and the Youth Union's header in its place
_MOTTO = ("conghoaxahoichunghiavietnam", "doclaptudohanhphuc", "dangcongsanvietnam", "doantncongsanhochiminh",
          "doanthanhniencongsanhochiminh")
_RECEIPT_TITLE = "giaytiepnhanhosovahentraketqua"
_SEPARATOR_TITLE = "phieuphantachhoso"
_MOTTO_SCORE = 80.0
_TITLE_SCORE = 82.0
_RECEIPT_SCORE_WITH_BARCODE = 68.0
_TOP_LINES = 12  # without word boxes, the header of a page is within its first lines of text
_TOP_FRACTION = 0.33  # with word boxes: the top third of the page
# "Số: 12/QĐ-UBND" at the start of a line, on folded text (a stray mark may stand before the slash)
_SO_LINE = re.compile(r"\W{0,2}s[oa06]\s*[:;.,]?\s*[0-9oli|/]{0,6}\S{0,2}\s*/\s*[a-z0-9]")
_SO_LABEL_ONLY = re.compile(r"\W{0,2}s[oa06]\s*:")  # "Số:" whose number is handwritten and was not read
_COLUMN_GAP = 3.0  # a gap wider than this many letter heights separates two columns
_BODY_LINE = 0.5  # a line of running text spans more than half the page's width
_BODY_LEFT = 0.3  # and starts at the left margin (the motto starts right of it)
_NUMBER_LINE_MAX_WORDS = 6  # "Số: 123/QĐ-UBND" is 1-4 OCR words; a line of body text is longer
_NUMBER_LINE_MAX_LEFT = 0.5  # the number line is under the issuer, in the left half
_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*)?(?:trang\s*)?(\d{1,3})(?:\s*-)?\s*$")


@dataclass(frozen=True)
class Segmentation:
    """The plans (result documents and receipts) of one file and the kind of each of its pages."""

    plans: tuple[DocumentPlan, ...]
    page_kinds: dict[int, PageKind]


def _compact(text: str) -> str:
    """Folded text with everything but letters and digits removed ("CỘNG HÒA XÃ" -> "conghoaxa")."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def _lines(page: PageResult) -> list[str]:
    return [ln for ln in page.text.splitlines() if ln.strip()]


def _top_text(page: PageResult) -> str:
    """The text of the top of the page: words in the top third when boxes are known, else first lines."""
    if page.words and page.height:
        limit = page.height * _TOP_FRACTION
        rows: dict[tuple[int, int, int], list[tuple[int, str]]] = {}
        for w in page.words:
            if w.top < limit and w.text.strip():
                rows.setdefault((w.block, w.par, w.line), []).append((w.left, w.text))
        return "\n".join(" ".join(t for _, t in sorted(ws)) for ws in rows.values())
    return "\n".join(_lines(page)[:_TOP_LINES])


def _score(needle: str, haystack: str) -> float:
    if not haystack:
        return 0.0
    return float(fuzz.partial_ratio(needle, haystack))


def has_title_block(page: PageResult) -> bool:
    """True when the top of the page carries the national motto (either of its two lines)."""
    top = _compact(_top_text(page))
    return any(_score(m, top) >= _MOTTO_SCORE for m in _MOTTO)


def _top_rows(page: PageResult) -> list[list[Word]]:
    """The OCR lines of the top third of the page, each as its words from left to right, cut where a
    wide gap separates two columns (the number on the left, the place and date on the right)."""
    limit = page.height * _TOP_FRACTION
    rows: dict[tuple[int, int, int], list[Word]] = {}
    for w in page.words:
        if w.top < limit and w.text.strip():
            rows.setdefault((w.block, w.par, w.line), []).append(w)
    out: list[list[Word]] = []
    for ws in rows.values():
        ws.sort(key=lambda w: w.left)
        height = sorted(w.height for w in ws)[len(ws) // 2]
        part = [ws[0]]
        for prev, w in zip(ws, ws[1:], strict=False):
            if w.left - (prev.left + prev.width) > _COLUMN_GAP * height:
                out.append(part)
                part = []
            part.append(w)
        out.append(part)
    return out


def has_number_line(page: PageResult) -> bool:
    """True when the top of the page carries a document's own "Số: 123/QĐ-UBND" header line.

    The header's number line starts with its "Số" label, sits in the left part of the page (under the
    issuer) and is short. A number cited in the body ("… theo Quyết định số 12/QĐ-UBND ngày …") is
    inside a long line of running text and does not count: such pages continue a document. Nor does a
    number line under the end of running text (the authentication block of a consolidated text, closing
    a short last page)."""
    if not (page.words and page.height and page.width):
        return any(_SO_LINE.match(fold(ln).strip()) for ln in _top_text(page).splitlines())
    rows = _top_rows(page)
    for row in rows:
        text = fold(" ".join(w.text for w in row)).strip()
        if len(row) > _NUMBER_LINE_MAX_WORDS or row[0].left > page.width * _NUMBER_LINE_MAX_LEFT:
            continue
        if not (_SO_LINE.match(text) or _SO_LABEL_ONLY.fullmatch(text)):
            continue
        body_above = any(r[0].top < row[0].top and r[0].left < _BODY_LEFT * page.width
                         and r[-1].left + r[-1].width - r[0].left > _BODY_LINE * page.width for r in rows)
        if not body_above:
            return True
    return False


def has_page_number_on_top(page: PageResult) -> bool:
    """True when one of the first lines of text is a bare page number ("2", "- 2 -", "Trang 2")."""
    for ln in _lines(page)[:3]:
        m = _PAGE_NUMBER.match(fold(ln))
        if m and 1 < int(m.group(1)) < 500:
            return True
    return False


def _receipt_score(page: PageResult) -> float:
    return _score(_RECEIPT_TITLE, _compact(page.text))


def _valid_codes(page: PageResult, formats: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(c.payload for c in page.codes
                              if c.format in formats and dossier_code.is_valid(c.payload)))


_QR = ("QRCode", "MicroQRCode")
_BARCODES = ("Code128", "QRCode", "MicroQRCode", "DataMatrix")


@dataclass
class _Dossier:
    """The dossier being filled while walking the pages: codes by source, plus the pages seen so far."""

    codes: dict[str, list[str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    has_documents: bool = False

    def add(self, source: str, codes: Sequence[str]) -> None:
        if codes:
            self.codes.setdefault(source, [])
            self.codes[source].extend(c for c in codes if c not in self.codes[source])


@dataclass
class _Doc:
    pages: list[int]
    dossier: _Dossier
    text_codes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _decide(candidates: dict[str, list[str]]) -> tuple[str | None, str | None, list[str]]:
    """The code of highest priority, its source, and reasons for every disagreeing source."""
    chosen: str | None = None
    source: str | None = None
    reasons: list[str] = []
    for src in PRIORITY:
        values = candidates.get(src) or []
        if not values:
            continue
        if chosen is None:
            chosen, source = values[0], src
            if len(values) > 1:
                reasons.append(f"{_SOURCE_WORDS[src]} carries several dossier codes: {', '.join(values)}; "
                               f"{chosen} used")
            continue
        other = [v for v in values if v != chosen]
        if other and chosen not in values:
            reasons.append(f"dossier code disagreement: {_SOURCE_WORDS[source or src]} says {chosen}, "
                           f"{_SOURCE_WORDS[src]} says {other[0]}")
    return chosen, source, reasons


def segment(pages: Sequence[PageResult], *, filename: str) -> Segmentation:
    """Cut one file's pages (in any order; sorted by page number) into receipts and result documents."""
    ordered = sorted(pages, key=lambda p: p.page)
    kinds: dict[int, PageKind] = {}
    file_code = dossier_code.from_filename(filename)
    dossiers: list[_Dossier] = []
    docs: list[_Doc] = []
    receipts: list[tuple[int, _Dossier]] = []
    current: _Dossier | None = None
    open_doc: _Doc | None = None

    def new_dossier() -> _Dossier:
        d = _Dossier()
        dossiers.append(d)
        return d

    for page in ordered:
        n = page.page
        if page.failed:
            kinds[n] = PageKind.FAILED
            reason = f"page {n} could not be processed ({page.error}); kept in this document, check the split"
            if open_doc is None:
                current = current or new_dossier()
                open_doc = _Doc([n], current)
                docs.append(open_doc)
                current.has_documents = True
            else:
                open_doc.pages.append(n)
            open_doc.reasons.append(reason)
            continue
        if page.blank:
            kinds[n] = PageKind.BLANK
            continue

        qr_codes = _valid_codes(page, _QR)
        barcode_codes = _valid_codes(page, _BARCODES)
        receipt_score = _receipt_score(page)
        is_receipt = receipt_score >= _TITLE_SCORE or (
            bool(_valid_codes(page, ("Code128",))) and receipt_score >= _RECEIPT_SCORE_WITH_BARCODE)
        title_block = has_title_block(page)
        sep_title = _score(_SEPARATOR_TITLE, _compact(_top_text(page))) >= _TITLE_SCORE

        if is_receipt:
            kinds[n] = PageKind.RECEIPT
            if current is None or current.has_documents:
                current = new_dossier()
            current.add(RECEIPT_BARCODE, barcode_codes)
            text_codes = dossier_code.find_labelled(page.text) or dossier_code.find_in_text(page.text)
            current.add(RECEIPT_TEXT, text_codes[:1])
            if not barcode_codes and not text_codes:
                current.reasons.append(f"receipt on page {n}: no dossier code could be read from it")
            receipts.append((n, current))
            open_doc = None
            continue

        looks_like_document = title_block or has_number_line(page) or has_page_number_on_top(page)
        if (qr_codes and not looks_like_document) or sep_title:
            kinds[n] = PageKind.SEPARATOR
            current = new_dossier()
            codes = qr_codes or dossier_code.find_labelled(page.text) or dossier_code.find_in_text(page.text)
            current.add(SEPARATOR, codes)
            if not qr_codes and codes:
                current.reasons.append(f"separator sheet on page {n}: QR unreadable, code {codes[0]} read "
                                       "from its text")
            elif not codes:
                current.reasons.append(f"separator sheet on page {n}: neither its QR nor its text gave a "
                                       "dossier code")
            open_doc = None
            continue

        kinds[n] = PageKind.DOCUMENT
        number_line = has_number_line(page)
        # An attachment (rules, programme, list, a form of an annex) carries the national motto too, but
        # not the document's own "Số: …" line: it continues the document before it.
        starts = (title_block and (number_line or open_doc is None)) or number_line
        if current is None:
            current = new_dossier()
        if open_doc is None or starts:
            open_doc = _Doc([n], current)
            docs.append(open_doc)
            current.has_documents = True
        else:
            open_doc.pages.append(n)
        open_doc.text_codes.extend(dossier_code.find_labelled(page.text))
        if qr_codes:  # a dossier-code QR printed on a result document page (not a separator: it has a title)
            open_doc.text_codes.extend(qr_codes)
            open_doc.reasons.append(f"page {n} carries a QR with dossier code {qr_codes[0]} but is a document "
                                    "page, not a separator sheet")

    use_file_code = file_code is not None and len([d for d in dossiers if d.codes]) <= 1
    plans: list[tuple[int, DocumentPlan]] = []
    for first, dossier in receipts:
        candidates = dict(dossier.codes)
        if use_file_code:
            candidates[FILENAME] = [file_code]  # type: ignore[list-item]
        code, source, why = _decide(candidates)
        plans.append((first, DocumentPlan(pages=(first,), kind="receipt", dossier_id=code, dossier_source=source,
                                          reasons=tuple(dict.fromkeys([*dossier.reasons, *why])))))
    for doc in docs:
        candidates = dict(doc.dossier.codes)
        if use_file_code:
            candidates[FILENAME] = [file_code]  # type: ignore[list-item]
        if doc.text_codes:
            candidates[TEXT] = list(dict.fromkeys(doc.text_codes))
        code, source, why = _decide(candidates)
        reasons = [*doc.dossier.reasons, *why, *doc.reasons]
        if code is None:
            reasons.append("no dossier code found (no separator sheet, receipt, code in the file name or "
                           "'Mã hồ sơ' line)")
        plans.append((doc.pages[0], DocumentPlan(pages=tuple(doc.pages), kind="result", dossier_id=code,
                                                 dossier_source=source, reasons=tuple(dict.fromkeys(reasons)))))
    plans.sort(key=lambda fp: fp[0])
    result = Segmentation(plans=tuple(p for _, p in plans), page_kinds=kinds)
    log.debug("%s: %d pages -> %d plans", filename, len(ordered), len(result.plans))
    return result
