"""Born-digital PDF pages: read the text the page carries instead of OCR-ing its pixels.

A signed e-document (exported from a word processor) draws its letters with fonts; their ToUnicode
maps give the exact text. :func:`read_text_layer` decides, per page, whether that text can be trusted
and returns its words with boxes in the pixels of the page as rendered (the image the archive keeps),
confidence 100, grouped into Tesseract-like block/line numbers so layout-based extraction works unchanged.

A page is *born-digital* when it carries visible text (render modes other than 3 and 7) whose
characters map to Unicode and read as Vietnamese, and no image covers half of the page. Anything
else goes to OCR as before:

* a scan with an invisible OCR layer (mode 3 text under a full-page image): the layer is ignored and
  the image is OCR'd again — its reading is of unknown quality (real archives carry layers from OCR
  engines without Vietnamese), and our own reading gets preprocessing and correction;
* a scan with visible text stamped on it (an e-signature box "Ký bởi ... Thời gian ký"): the scan is
  OCR'd as a whole, the box included, as it is today;
* text in a legacy 8-bit Vietnamese font (TCVN3 ".VnTime", VNI) whose codes map to Latin-1 look-alikes:
  it does not read as Vietnamese syllables, so the page is rendered and OCR'd.

Images on a born-digital page (a scanned stamp, an inserted picture) are OCR'd in their regions only,
after dropping red and blue ink (seal, signature), keeping the words Tesseract is sure of
(:func:`image_words`). :func:`text_layer_pdf` writes the words as an invisible text layer (Tesseract's
GlyphLessFont scheme) for the page's searchable PDF.
"""

from __future__ import annotations

import glob
import io
import logging
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import MissingDependencyError
from digitize.models import PageResult, Quality, Word

log = logging.getLogger(__name__)

INVISIBLE_MODES = (3, 7)  # text render modes that paint nothing (OCR layers, clipping)
MAX_IMAGE_COVER = 0.5  # an image (or images) covering this share of the page makes it a scan
MAX_MAP_ERRORS = 0.05  # more characters without a Unicode mapping than this: the text is unusable
MIN_SYLLABLE_SHARE = 0.6  # fewer lower-case words shaped like Vietnamese syllables: a legacy font encoding
MIN_WORDS_FOR_SHARE = 8  # ... judged only on pages with this many such words
MIN_IMAGE_IN = 0.4  # image regions narrower or lower than this (inches) are not OCR'd (rules, bullets)
GAP_LINES = 2.5  # a gap wider than this many line heights separates two columns (Tesseract: two blocks)
IMAGE_WORD_CONF = 60.0  # words read in an image region below this confidence are dropped
_LIGATURES = re.compile("[\ufb00-\ufb06]")


@dataclass(frozen=True)
class TextLayer:
    """A born-digital page's own words and its image regions, in rendered-page pixels."""

    words: tuple[Word, ...]
    images: tuple[tuple[int, int, int, int], ...]  # (left, top, right, bottom)


@dataclass(frozen=True)
class _Char:
    ch: str
    box: tuple[float, float, float, float] | None  # left, top, right, bottom in pixels; None for a space
    visible: bool
    map_error: bool
    loose: tuple[float, float, float, float] | None = None  # the font's full height (line finding)


class _Mapper:
    """PDF user space -> pixels of the page as poppler renders it (crop box, /Rotate, resolution)."""

    def __init__(self, crop: tuple[float, float, float, float], rotation: int, width_px: int):
        self.x0, self.y0, self.x1, self.y1 = crop
        self.rot = rotation % 360
        shown_w = (self.y1 - self.y0) if self.rot in (90, 270) else (self.x1 - self.x0)
        self.s = width_px / shown_w if shown_w else 1.0

    def point(self, x: float, y: float) -> tuple[float, float]:
        s = self.s
        if self.rot == 90:
            return (y - self.y0) * s, (x - self.x0) * s
        if self.rot == 180:
            return (self.x1 - x) * s, (y - self.y0) * s
        if self.rot == 270:
            return (self.y1 - y) * s, (self.x1 - x) * s
        return (x - self.x0) * s, (self.y1 - y) * s

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        (ax, ay), (bx, by) = self.point(left, bottom), self.point(right, top)
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def _shown_size_in(path: Path, page: int) -> tuple[float, float]:
    """Width and height in inches of the page as shown (crop box, /Rotate applied)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        pg = doc[page - 1]
        x0, y0, x1, y1 = pg.get_cropbox()
        w, h = abs(x1 - x0) / 72, abs(y1 - y0) / 72
        return (h, w) if pg.get_rotation() % 180 == 90 else (w, h)
    finally:
        doc.close()


def read_text_layer(path: Path, page: int, *, width_px: int, height_px: int) -> TextLayer | None:
    """The page's own words when it is born-digital (see the module doc), else None (OCR it).

    ``width_px`` x ``height_px`` is the size of the rendered page the boxes must fit."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        pg = doc[page - 1]
        mapper = _Mapper(tuple(pg.get_cropbox()), pg.get_rotation(), width_px)
        images = _image_boxes(pg, mapper)
        cover = _coverage(images, width_px, height_px)
        chars = _chars(pg, mapper, width_px, height_px)
    finally:
        doc.close()
    name = Path(path).name
    visible = [c for c in chars if c.visible and c.box is not None]
    if not visible:
        log.debug("%s page %d: no visible text (%d invisible characters)", name, page, len(chars))
        return None
    if cover >= MAX_IMAGE_COVER:
        log.debug("%s page %d: images cover %.0f%% of the page: a scan, OCR'd", name, page, 100 * cover)
        return None
    errors = sum(c.map_error for c in visible)
    if errors > MAX_MAP_ERRORS * len(visible):
        log.info("%s page %d: %d of %d characters have no Unicode mapping: OCR'd", name, page, errors, len(visible))
        return None
    if _sideways(chars):
        log.debug("%s page %d: the text runs up or down the page: OCR'd after turning it", name, page)
        return None
    words = _words([c for c in chars if c.visible])
    share, counted = syllable_share(w.text for w in words)
    if counted >= MIN_WORDS_FOR_SHARE and share < MIN_SYLLABLE_SHARE:
        log.info("%s page %d: text does not read as Vietnamese (%.0f%% syllables; legacy font?): OCR'd",
                 name, page, 100 * share)
        return None
    boxes = tuple((round(b[0]), round(b[1]), round(b[2]), round(b[3])) for b in images)
    return TextLayer(words=words, images=boxes)


def _sideways(chars: Sequence[_Char]) -> bool:
    """True when most neighbouring letters follow each other down or up the page (a page shown turned)."""
    across = down = 0
    for a, b in zip(chars, chars[1:], strict=False):
        if a.box is None or b.box is None or not (a.visible and b.visible):
            continue
        dx = abs((a.box[0] + a.box[2]) - (b.box[0] + b.box[2]))
        dy = abs((a.box[1] + a.box[3]) - (b.box[1] + b.box[3]))
        across += dx > dy
        down += dy > dx
    return down > across


def syllable_share(words: Sequence[str] | object) -> tuple[float, int]:
    """Share of lower-case alphabetic words shaped like Vietnamese syllables, and how many were judged."""
    from digitize.text.correct import is_syllable_shape

    judged = ok = 0
    for w in words:  # type: ignore[attr-defined]
        core = w.strip(".,;:!?()[]\"'“”/-–…")
        if len(core) < 2 or not core.isalpha() or not core.islower():
            continue
        judged += 1
        ok += is_syllable_shape(core)
    return (ok / judged if judged else 1.0), judged


def _image_boxes(pg, mapper: _Mapper) -> list[tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """Pixel boxes of the page's images; an image inside a form XObject counts as the form's box."""
    import pypdfium2.raw as raw

    boxes = []
    form_box = None
    for obj in pg.get_objects(filter=None, max_depth=4):
        if obj.level == 0:
            form_box = mapper.box(*obj.get_bounds()) if obj.type == raw.FPDF_PAGEOBJ_FORM else None
        if obj.type != raw.FPDF_PAGEOBJ_IMAGE:
            continue
        if obj.level == 0:
            boxes.append(mapper.box(*obj.get_bounds()))
        elif form_box is not None:
            boxes.append(form_box)
    return list(dict.fromkeys(boxes))


def _coverage(boxes: Sequence[tuple[float, float, float, float]], width: int, height: int) -> float:
    """Share of the page under the union of ``boxes`` (on a coarse grid)."""
    if not boxes or not width or not height:
        return 0.0
    f = 200.0 / max(width, height)
    grid = np.zeros((max(1, round(height * f)), max(1, round(width * f))), bool)
    for left, top, right, bottom in boxes:
        grid[max(0, round(top * f)):max(0, round(bottom * f)), max(0, round(left * f)):max(0, round(right * f))] = True
    return float(grid.mean())


def _chars(pg, mapper: _Mapper, width: int, height: int) -> list[_Char]:  # type: ignore[no-untyped-def]
    """The page's characters in content order (pdfium's generated spaces and line breaks included)."""
    import pypdfium2.raw as raw

    tp = pg.get_textpage()
    out: list[_Char] = []
    try:
        for i in range(tp.count_chars()):
            code = raw.FPDFText_GetUnicode(tp, i)
            # pdfium reports a hyphen that ends a line as code 2 (or U+FFFE): it is a printed hyphen
            ch = "-" if code in (2, 0xFFFE) or raw.FPDFText_IsHyphen(tp, i) == 1 else chr(code or 0xFFFD)
            if ch.isspace() or ch == "\x00" or raw.FPDFText_IsGenerated(tp, i) == 1:
                out.append(_Char(" " if ch not in "\r\n" else "\n", None, True, False))
                continue
            obj = raw.FPDFText_GetTextObject(tp, i)
            mode = raw.FPDFTextObj_GetTextRenderMode(obj) if obj else 0
            try:
                box = mapper.box(*tp.get_charbox(i))
                loose = mapper.box(*tp.get_charbox(i, loose=True))
            except Exception:  # pdfium has no box for this character: treat it as a break
                out.append(_Char(" ", None, True, False))
                continue
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            inside = -1 <= cx <= width + 1 and -1 <= cy <= height + 1
            code = ord(ch)
            bad = (raw.FPDFText_HasUnicodeMapError(tp, i) == 1 or ch == "\ufffd" or 0xE000 <= code <= 0xF8FF
                   or code < 0x20)
            out.append(_Char(ch, box, inside and mode not in INVISIBLE_MODES, bad, loose))
    finally:
        tp.close()
    return out


def _clean(text: str) -> str:
    """NFC, with typographic ligatures (ﬁ, ﬂ) spelled out."""
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return unicodedata.normalize("NFC", text)


def _union(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
           ) -> tuple[float, float, float, float]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _words(chars: Sequence[_Char]) -> tuple[Word, ...]:
    """Characters -> words (split at spaces and gaps) -> lines (split at breaks and baseline jumps) ->
    blocks (a new block where a line goes back up the page or jumps down)."""
    lines: list[list[tuple[str, tuple[float, float, float, float]]]] = []
    line: list[tuple[str, tuple[float, float, float, float]]] = []
    cur_text, cur_box = "", None

    def end_word() -> None:
        nonlocal cur_text, cur_box
        if cur_box is not None and cur_text.strip():
            line.append((cur_text, cur_box))
        cur_text, cur_box = "", None

    def end_line() -> None:
        nonlocal line
        end_word()
        if line:
            lines.append(line)
        line = []

    line_box: tuple[float, float, float, float] | None = None  # the current line's extent so far
    last: tuple[float, float, float, float] | None = None  # the previous character's box
    for c in chars:
        if c.box is None:
            if c.ch == "\n":
                end_line()
                line_box = None
            else:
                end_word()
            continue
        b = c.loose or c.box
        if line_box is not None and last is not None and not unicodedata.combining(c.ch):
            h = max(line_box[3] - line_box[1], 1.0)
            mid = (b[1] + b[3]) / 2
            if not line_box[1] <= mid <= line_box[3] or b[0] < last[0] - 0.5 * h or b[0] - last[2] > GAP_LINES * h:
                end_line()  # a new line: off the line's height, back to the left, or over a column gap
                line_box = None
            elif b[0] - last[2] > 0.3 * h:
                end_word()
        cur_text += c.ch
        cur_box = c.box if cur_box is None else _union(cur_box, c.box)
        line_box = b if line_box is None else _union(line_box, b)
        last = b
    end_line()

    blocks: list[list[list[tuple[str, tuple[float, float, float, float]]]]] = []
    prev = None
    for ln in lines:
        top = min(b[1] for _t, b in ln)
        bottom = max(b[3] for _t, b in ln)
        left, right = min(b[0] for _t, b in ln), max(b[2] for _t, b in ln)
        if prev is None or top < prev[0] - 1 or top - prev[1] > 1.5 * (bottom - top) or right < prev[2] or \
                left > prev[3]:
            blocks.append([])
        blocks[-1].append(ln)
        prev = (top, bottom, left, right)
    words: list[Word] = []
    for block, lns in enumerate(_reading_order(blocks), start=1):
        for line_no, ln in enumerate(lns, start=1):
            for text, b in ln:
                words.append(Word(text=_clean(text), left=round(b[0]), top=round(b[1]),
                                  width=max(1, round(b[2] - b[0])), height=max(1, round(b[3] - b[1])), conf=100.0,
                                  block=block, par=1, line=line_no))
    return tuple(words)


def born_digital_page(path: Path, page: int, *, dpi: float = 300, max_pixels: int = 200_000_000,
                      lang: str = "vie", timeout: float = 180.0, backend: str = "library"
                      ) -> tuple[PageResult, bytes] | None:
    """The result and searchable PDF page of a born-digital page, or None when the page must be OCR'd.

    The page is rendered by poppler at ``dpi`` (coarser when that would pass ``max_pixels``) and kept
    as the page image (no deskew, crop or cleaning: the page is already straight and clean). The PDF
    page is that image with the page's own words as its invisible text layer."""
    import cv2

    from digitize.page.codes import read_codes
    from digitize.page.pdf import page_pdf
    from digitize.page.preprocess import has_colour
    from digitize.page.render import render_page

    width_in, height_in = _shown_size_in(path, page)
    if width_in * height_in * dpi * dpi > max_pixels:
        dpi = (max_pixels / max(width_in * height_in, 1e-9)) ** 0.5
    layer = read_text_layer(path, page, width_px=round(width_in * dpi), height_px=round(height_in * dpi))
    if layer is None:
        return None
    image = render_page(path, page, resolution=dpi, gray=False)
    h, w = image.shape[:2]
    if abs(w - width_in * dpi) > 2 or abs(h - height_in * dpi) > 2:  # never seen: then map the boxes again
        layer = read_text_layer(path, page, width_px=w, height_px=h)
        if layer is None:
            return None
    words = layer.words + image_words(image, layer.images, layer.words, dpi=dpi, lang=lang, timeout=timeout,
                                       backend=backend)
    is_color = False
    if image.ndim == 3:
        f = min(1.0, 100.0 / dpi)
        is_color = has_colour(cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))
        if not is_color:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    from digitize.page.tesseract.ocr import words_to_text

    confs = [x.conf for x in words]
    result = PageResult(page=page, width=w, height=h, dpi=dpi, quality=Quality(dpi=round(dpi, 1)),
                        codes=read_codes(image), text=words_to_text(words), words=words,
                        mean_conf=sum(confs) / len(confs) if confs else 0.0)
    pdf = page_pdf(image, is_color=is_color, dpi=dpi,
                   text_pdf=text_layer_pdf(words, width_px=w, height_px=h, dpi=dpi))
    log.debug("%s page %d: born-digital, %d words from the text layer, %d from images", Path(path).name, page,
              len(layer.words), len(words) - len(layer.words))
    return result, pdf


def _reading_order(blocks: list[list[list[tuple[str, tuple[float, float, float, float]]]]]
                   ) -> list[list[list[tuple[str, tuple[float, float, float, float]]]]]:
    """Blocks top to bottom as Tesseract gives them, blocks that start on the same band (side-by-side
    columns: issuer and national motto) left to right. Content order is not reading order: word
    processors draw page headers and footers (page numbers) last."""
    def top(bl):  # type: ignore[no-untyped-def]
        return min(b[1] for ln in bl for _t, b in ln)

    def left(bl):  # type: ignore[no-untyped-def]
        return min(b[0] for ln in bl for _t, b in ln)

    def height(bl):  # type: ignore[no-untyped-def]
        return max(b[3] for _t, b in bl[0]) - min(b[1] for _t, b in bl[0])

    out: list = []
    band: list = []
    for bl in sorted(blocks, key=top):
        if band and top(bl) > top(band[0]) + height(band[0]):
            out.extend(sorted(band, key=left))
            band = []
        band.append(bl)
    out.extend(sorted(band, key=left))
    return out


# --- text in images ------------------------------------------------------------------------------------


def image_words(image: np.ndarray, regions: Sequence[tuple[int, int, int, int]], text_words: Sequence[Word], *,
                dpi: float, lang: str = "vie", timeout: float = 60.0, backend: str = "library") -> tuple[Word, ...]:
    """Words OCR'd in the image regions of a born-digital page (``image`` is the rendered page).

    Red and blue ink (seal, signature) are dropped first; words below ``IMAGE_WORD_CONF``, without a
    letter or digit, or lying on a word of the text layer are left out. Blocks are numbered after the
    text layer's."""
    from digitize.page.preprocess import dropout_gray
    from digitize.page.tesseract.ocr import ocr_page

    min_px = MIN_IMAGE_IN * dpi
    block = max((w.block for w in text_words), default=0)
    out: list[Word] = []
    for left, top, right, bottom in regions:
        left, top = max(0, left), max(0, top)
        right, bottom = min(image.shape[1], right), min(image.shape[0], bottom)
        if right - left < min_px or bottom - top < min_px:
            continue
        crop = image[top:bottom, left:right]
        gray = dropout_gray(crop) if crop.ndim == 3 else crop
        if np.count_nonzero(gray < 128) < 0.002 * gray.size:
            continue  # nothing dark left (a seal or a signature in colour, a photo's light area)
        ocr = ocr_page(np.ascontiguousarray(gray), dpi=dpi, lang=lang, timeout=timeout, backend=backend)
        kept = [w for w in ocr.words if w.conf >= IMAGE_WORD_CONF and any(ch.isalnum() for ch in w.text)
                and not _on_text(w, left, top, text_words)]
        for w in kept:
            out.append(Word(text=w.text, left=w.left + left, top=w.top + top, width=w.width, height=w.height,
                            conf=w.conf, block=block + w.block, par=w.par, line=w.line))
        block += max((w.block for w in kept), default=0)
    return tuple(out)


def _on_text(w: Word, dx: int, dy: int, text_words: Sequence[Word]) -> bool:
    cx, cy = w.left + dx + w.width / 2, w.top + dy + w.height / 2
    return any(t.left <= cx <= t.left + t.width and t.top <= cy <= t.top + t.height for t in text_words)


# --- the invisible text layer of the page's PDF ----------------------------------------------------------


def _glyphless_font() -> bytes:
    """Tesseract's GlyphLessFont (``pdf.ttf`` in its tessdata, which its own PDF renderer needs too)."""
    dirs = [os.environ.get("TESSDATA_PREFIX", ""), *glob.glob("/usr/share/tesseract-ocr/*/tessdata"),
            "/usr/share/tessdata", "/usr/local/share/tessdata"]
    for d in dirs:
        p = Path(d) / "pdf.ttf" if d else None
        if p is not None and p.is_file():
            return p.read_bytes()
    raise MissingDependencyError("tesseract's pdf.ttf is not installed: apt-get install tesseract-ocr")


def text_layer_pdf(words: Sequence[Word], *, width_px: int, height_px: int, dpi: float) -> bytes:
    """A one-page, text-only PDF (render mode 3) with each word over its box: the same kind of page
    Tesseract writes, for :func:`digitize.page.pdf.page_pdf` to lay over the page image."""
    import zlib

    import pikepdf

    k = 72.0 / dpi
    w_pt, h_pt = width_px * k, height_px * k
    pdf = pikepdf.new()
    try:
        font_file = pdf.make_stream(_glyphless_font())
        font_file["/Length1"] = len(font_file.read_bytes())
        cid_to_gid = pdf.make_stream(zlib.compress(b"\x00\x01" * 65536))
        cid_to_gid["/Filter"] = pikepdf.Name.FlateDecode
        cmap = (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n<< /Registry "
                b"(Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identify-UCS def\n/CMapType 2 def\n"
                b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n1 beginbfrange\n<0000> <FFFF> <0000>\n"
                b"endbfrange\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
        descriptor = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.GlyphLessFont, Flags=5,
            FontBBox=[0, 0, 500, 1000], ItalicAngle=0, Ascent=1000, Descent=-1, CapHeight=1000, StemV=80,
            FontFile2=font_file)
        cid_font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name.GlyphLessFont,
            CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=descriptor, DW=500, CIDToGIDMap=cid_to_gid)
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name.GlyphLessFont,
            Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[pdf.make_indirect(cid_font)],
            ToUnicode=pdf.make_stream(cmap))
        ops = ["BT", "3 Tr"]
        for w in words:
            text = "".join(ch for ch in w.text if ord(ch) <= 0xFFFF) + " "
            size = max(w.height * k, 1.0)
            scale = 100.0 * (w.width * k) / (len(text) * 0.5 * size)
            x, y = w.left * k, h_pt - (w.top + w.height) * k
            ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm /F1 {size:.2f} Tf {scale:.2f} Tz "
                       f"<{text.encode('utf-16-be').hex().upper()}> Tj")
        ops.append("ET")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 3), round(h_pt, 3)],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font))),
            Contents=pdf.make_stream("\n".join(ops).encode()))
        pdf.pages.append(pikepdf.Page(page))
        out = io.BytesIO()
        pdf.save(out, compress_streams=True, deterministic_id=True)
        return out.getvalue()
    finally:
        pdf.close()
