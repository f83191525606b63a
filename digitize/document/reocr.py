"""A second, closer OCR of one region of a stored page (used by metadata extraction).

The signer's name sits under a handwritten signature and a red seal; the first, whole-page reading
often loses it. Extraction asks for the signature block again: the region is cut from the page
image kept in the page's PDF, the coloured inks (red seal, blue signature) and light strokes are
turned white, and Tesseract reads the crop as one block of text (``--psm 6``) — twice, with a looser
and a stricter cut between toner and seal ink, keeping the surer reading.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from digitize.errors import OcrError
from digitize.models import PageResult, Word

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
INK_THRESHOLD = 110  # brighter than this in any channel: not black toner
# a gray seal (a scan in grayscale) is darker than red ink: a second, stricter cut drops it too
INK_CUTS = (INK_THRESHOLD, 75)
MIN_INK = 0.0005  # less dark ink than this share of the region: nothing to read (a name alone is ~0.001)


def page_image(pdf: bytes) -> np.ndarray:
    """The page image a one-page PDF from :func:`digitize.page.pdf.page_pdf` carries (gray or BGR)."""
    import pikepdf
    from pikepdf import PdfImage

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        images = list(doc.pages[0].get_images().values())
        if not images:
            raise OcrError("the stored page has no image")
        pil = PdfImage(images[0]).as_pil_image()
    if pil.mode in ("1", "L"):
        return np.asarray(pil.convert("L"))
    return np.ascontiguousarray(np.asarray(pil.convert("RGB"))[..., ::-1])


def black_ink(crop: np.ndarray, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """Keep black toner only: a pixel at least ``threshold`` bright in any channel (red seal, blue ink,
    paper) becomes white."""
    level = crop if crop.ndim == 2 else crop.max(axis=2)
    return np.where(level >= threshold, 255, level).astype(np.uint8)


def _score(words: Sequence[Word]) -> float:
    """How well a reading went: the mean confidence of its real words (letters, two or more)."""
    confs = [w.conf for w in words if len(w.text) >= 2 and any(ch.isalpha() for ch in w.text)]
    return sum(confs) / len(confs) if confs else -1.0


def _crop(image: np.ndarray, box: Box, scale: float) -> tuple[np.ndarray, int, int] | None:
    """The pixels of ``box`` (page-result pixels, ``scale`` to the image's) and their left and top in the
    image; None when the box leaves too little of the image to read."""
    left, top, right, bottom = (round(v * scale) for v in box)
    h, w = image.shape[:2]
    left, top, right, bottom = max(0, left), max(0, top), min(w, right), min(h, bottom)
    if right - left < 8 or bottom - top < 8:
        return None
    return image[top:bottom, left:right], left, top


def _placed(wd: Word, dx: int, dy: int, scale: float) -> Word:
    """A word read on a crop, in page-result coordinates (the crop's offset ``dx``, ``dy`` in image pixels)."""
    inv = 1.0 / scale
    return replace(wd, left=round((wd.left + dx) * inv), top=round((wd.top + dy) * inv),
                   width=round(wd.width * inv), height=round(wd.height * inv))


def region_words(image: np.ndarray, box: Box, *, scale: float = 1.0, dpi: float = 300, lang: str = "vie",
                 timeout: float = 60.0, backend: str = "library") -> tuple[Word, ...]:
    """OCR ``box`` (in page-result pixels; ``scale`` maps them to ``image`` pixels) as one text block and
    return its words in page-result coordinates."""
    from digitize.page.tesseract.ocr import parse_tsv, run_tesseract

    found = _crop(image, box, scale)
    if found is None:
        return ()
    crop, left, top = found
    best: tuple[Word, ...] = ()
    for cut in INK_CUTS:  # read with each ink cut; keep the reading Tesseract is surest of
        ink = black_ink(crop, cut)
        if np.count_nonzero(ink < 128) < MIN_INK * ink.size:
            continue  # nothing left to read (the region is empty, or held only seal and signature)
        try:
            tsv, _ = run_tesseract(ink, dpi=dpi, lang=lang, psm=6, timeout=timeout, backend=backend)
        except OcrError as e:
            raise OcrError(f"{e.message} (on a page region)") from e
        words, _text = parse_tsv(tsv)
        if _score(words) > _score(best):
            best = words
    return tuple(_placed(wd, left, top, scale) for wd in best)


def line_words(image: np.ndarray, box: Box, *, scale: float = 1.0, dpi: float = 300, lang: str = "vie",
               timeout: float = 60.0, backend: str = "library") -> tuple[Word, ...]:
    """``box`` read one line at a time: PP-OCR's detector boxes the lines, Tesseract reads each alone
    (psm 7) with the seal and blue ink dropped; words in page-result coordinates."""
    from digitize.page.linereader import detect_lines
    from digitize.page.tesseract.ocr import parse_tsv, run_tesseract

    found = _crop(image, box, scale)
    if found is None:
        return ()
    crop, left, top = found
    out: list[Word] = []
    for n, (x0, y0, x1, y1) in enumerate(detect_lines(crop)):
        pad = max(2, (y1 - y0) // 5)
        t, b, lft = max(0, y0 - pad), min(crop.shape[0], y1 + pad), max(0, x0 - pad)
        ink = black_ink(crop[t:b, lft : x1 + pad])
        if np.count_nonzero(ink < 128) < MIN_INK * ink.size:
            continue
        try:
            tsv, _ = run_tesseract(ink, dpi=dpi, lang=lang, psm=7, timeout=timeout, backend=backend)
        except OcrError as e:
            raise OcrError(f"{e.message} (on a line of a page region)") from e
        words, _text = parse_tsv(tsv)
        out += [replace(_placed(wd, lft + left, t + top, scale), block=1, par=1, line=n + 1) for wd in words]
    return tuple(out)


def make_reocr(pages: Sequence[PageResult], load_pdf: Callable[[int], bytes], *, lang: str = "vie",
               timeout: float = 60.0, backend: str = "library") -> Callable[[int, Box], Sequence[Word]]:
    """A ``reocr(page, box)`` callback for :func:`digitize.document.extract.extract_metadata` that reads the
    stored page PDFs through ``load_pdf(page_number)``. A page that cannot be read again gives no
    words (the first reading stands, with its review reason) and a warning in the log."""
    by_page = {p.page: p for p in pages}

    def reocr(page: int, box: Box) -> Sequence[Word]:
        result = by_page.get(page)
        if result is None or not result.width:
            return ()
        try:
            image = page_image(load_pdf(page))
            scale = image.shape[1] / result.width  # the stored image may be finer than the one OCR read
            return region_words(image, box, scale=scale, dpi=(result.dpi or 300) * scale, lang=lang,
                                timeout=timeout, backend=backend)
        except OcrError as e:
            log.warning("page %d: second reading of the signature block failed: %s", page, e)
            return ()

    def image_of(page: int) -> tuple[np.ndarray, float] | None:
        """The stored image of a page and its pixels per page-result pixel (None when it cannot be read)."""
        result = by_page.get(page)
        if result is None or not result.width:
            return None
        try:
            image = page_image(load_pdf(page))
        except (OcrError, TypeError, ValueError) as e:  # the page keeps its first reading
            log.warning("page %d: stored image not readable for the handwriting reader: %s", page, e)
            return None
        return image, image.shape[1] / result.width

    def by_lines(page: int, box: Box) -> Sequence[Word]:
        """``box`` of a page read line by line (:func:`line_words`); no words when it cannot be read."""
        result = by_page.get(page)
        got = image_of(page)
        if result is None or got is None:
            return ()
        image, scale = got
        try:
            return line_words(image, box, scale=scale, dpi=(result.dpi or 300) * scale, lang=lang, timeout=timeout,
                              backend=backend)
        except OcrError as e:
            log.warning("page %d: line-by-line reading of the signature block failed: %s", page, e)
            return ()

    reocr.image_of = image_of  # type: ignore[attr-defined]
    reocr.by_lines = by_lines  # type: ignore[attr-defined]
    reocr.lang, reocr.timeout = lang, timeout  # type: ignore[attr-defined]  # for the handwriting reader's boxes
    return reocr
