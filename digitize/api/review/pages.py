"""What the station shows of a document's pages: the stored page images (taken out of the stored PDF,
never re-OCR'd) and the boxes of the words a field was read from (from the stored page results, or, once
the page intermediates are dropped, from the text layer of the document's own PDF)."""

from __future__ import annotations

import functools
import io
import json
import logging
from dataclasses import dataclass

from rapidfuzz import fuzz

from digitize.errors import NotFoundError
from digitize.models import Document, PageResult, Word, from_dict
from digitize.text.vntext import fold
from storage import layout
from storage.objects import ObjectStore

log = logging.getLogger(__name__)
MAX_SIDE = 2400  # pixels: larger scans are scaled down for the screen


@dataclass(frozen=True)
class Box:
    """A word's box on a page, as fractions of the page's width and height."""

    page: int
    x: float
    y: float
    w: float
    h: float


def page_image(store: ObjectStore, doc: Document, page: int) -> tuple[bytes, str]:
    """(bytes, media type) of the stored image of ``page`` (a page number of the source file)."""
    if page not in doc.pages:
        raise NotFoundError(f"page {page} is not in document {doc.doc_id}")
    key = layout.page_pdf_key(doc.sha256, page)
    index = 0
    if not store.exists(key):
        if not doc.pdf_key:
            raise NotFoundError(f"document {doc.doc_id} has no stored pages")
        key, index = doc.pdf_key, doc.pages.index(page)
    return _image(store, key, index)


@functools.lru_cache(maxsize=48)
def _image_cached(store_id: int, key: str, index: int, pdf: bytes) -> tuple[bytes, str]:
    import pikepdf
    from pikepdf import PdfImage
    from PIL import Image

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        images = list(doc.pages[index].get_images().values())  # nested form XObjects included
        if not images:
            raise NotFoundError(f"{key}: page {index + 1} has no image")
        biggest = max(images, key=lambda im: int(im.get("/Width", 0)) * int(im.get("/Height", 0)))
        img = PdfImage(biggest).as_pil_image()
    if max(img.size) > MAX_SIDE:
        scale = MAX_SIDE / max(img.size)
        img = img.convert("L" if img.mode in ("1", "L") else "RGB").resize(
            (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if img.mode == "1":
        img.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    img.convert("L" if img.mode in ("L", "LA", "I", "I;16") else "RGB").save(out, format="JPEG", quality=85)
    return out.getvalue(), "image/jpeg"


def _image(store: ObjectStore, key: str, index: int) -> tuple[bytes, str]:
    return _image_cached(id(store), key, index, store.get_bytes(key))


def page_results(store: ObjectStore, doc: Document) -> dict[int, PageResult]:
    """The words and boxes of the document's pages: the stored page results where they are kept, else
    the words of the document PDF's text layer (boxes in PDF points)."""
    out: dict[int, PageResult] = {}
    for p in doc.pages:
        try:
            out[p] = from_dict(PageResult, json.loads(store.get_bytes(layout.page_result_key(doc.sha256, p))))
        except NotFoundError:
            continue
    missing = [p for p in doc.pages if p not in out]
    if missing and doc.pdf_key:
        try:
            pdf = store.get_bytes(doc.pdf_key)
        except NotFoundError:
            return out
        count = pdf_page_count(pdf)
        for p in missing:
            i = doc.pages.index(p)
            if i >= count:  # the document's PDF lacks the page (an archive fixed by hand): no words for it
                log.warning("document %s: its PDF has %d pages, page %d (%d of the document) has no words",
                            doc.doc_id, count, p, i + 1)
                continue
            out[p] = text_layer_words(pdf, i, p)
    return out


def pdf_page_count(pdf: bytes) -> int:
    """How many pages a PDF has."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def text_layer_words(pdf: bytes, index: int, page: int) -> PageResult:
    """The words of page ``index`` (0-based) of a PDF's text layer, boxes in points from the top left."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        pg = doc[index]
        width, height = pg.get_size()
        tp = pg.get_textpage()
        try:
            words: list[Word] = []
            chars: list[tuple[str, tuple[float, float, float, float]]] = []
            for i in range(tp.count_chars()):
                ch = tp.get_text_range(i, 1)
                if ch.strip():
                    chars.append((ch, tp.get_charbox(i)))
                    continue
                words.extend(_word(chars, height))
                chars = []
            words.extend(_word(chars, height))
        finally:
            tp.close()
    finally:
        doc.close()
    return PageResult(page=page, width=round(width), height=round(height), words=tuple(words))


def _word(chars: list[tuple[str, tuple[float, float, float, float]]], page_height: float) -> list[Word]:
    if not chars:
        return []
    left = min(b[0] for _, b in chars)
    bottom = min(b[1] for _, b in chars)
    right = max(b[2] for _, b in chars)
    top = max(b[3] for _, b in chars)
    return [Word("".join(c for c, _ in chars), round(left), round(page_height - top), max(1, round(right - left)),
                 max(1, round(top - bottom)), 100.0)]


def _tokens(text: str) -> list[str]:
    return [t for t in fold(text).replace(",", " ").split() if t.strip(".:;")]


def locate(value: str | None, results: dict[int, PageResult]) -> list[Box]:
    """The boxes of the run of words on the pages that best matches ``value`` (empty when none does)."""
    want = _tokens(value or "")[:40]
    if not want:
        return []
    best: tuple[float, int, list[Word]] = (0.0, 0, [])
    for page, r in results.items():
        words = [w for w in r.words if w.text.strip()]
        folded = [fold(w.text) for w in words]
        for start in range(len(words)):
            if fuzz.ratio(folded[start], want[0]) < 70 and not (len(want) == 1 and want[0] in folded[start]):
                continue
            n = min(len(want), len(words) - start)
            score = sum(fuzz.ratio(folded[start + i], want[i]) for i in range(n)) / len(want)
            if score > best[0]:
                best = (score, page, words[start:start + n])
    score, page, run = best
    if score < 60 or not run:
        return []
    r = results[page]
    w, h = max(r.width, 1), max(r.height, 1)
    return [Box(page, wd.left / w, wd.top / h, wd.width / w, wd.height / h) for wd in run]
