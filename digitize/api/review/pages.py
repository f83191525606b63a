"""What the station shows of a document's pages: the stored page images (taken out of the stored PDF,
never re-OCR'd) and the boxes of the words a field was read from (from the stored page results)."""

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
        images = list(doc.pages[index].images.values())
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
    """The stored results (words and boxes) of the document's pages that still have them."""
    out: dict[int, PageResult] = {}
    for p in doc.pages:
        try:
            out[p] = from_dict(PageResult, json.loads(store.get_bytes(layout.page_result_key(doc.sha256, p))))
        except NotFoundError:
            continue
    return out


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
