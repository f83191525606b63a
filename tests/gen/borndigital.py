"""Generate born-digital PDFs: pages whose letters are drawn with an embedded TrueType font.

Written directly as PDF content streams with pikepdf (no word processor): Liberation Serif embedded as
a CIDFontType2 (Identity-H, glyph ids as codes) with a ToUnicode map, so a reader gets the exact text.
Options reproduce what real e-documents do: Vietnamese letters as base glyph + combining mark glyphs
(``decomposed``), typographic ligatures (ﬁ), a scanned stamp picture and a red seal picture on the
page, /Rotate, and — for the "scan with an OCR layer" case — a full-page image under invisible
(render mode 3) text.
"""

from __future__ import annotations

import io
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pikepdf
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from digitize.samples.documents import FONT_DIRS, DocSpec, font, render, wrap_words

A4_PT = (595.28, 841.89)


def _font_path(style: str) -> Path:
    for d in FONT_DIRS:
        p = d / f"LiberationSerif-{style}.ttf"
        if p.exists():
            return p
    raise FileNotFoundError("Liberation Serif not found: apt-get install fonts-liberation2")


class EmbeddedFont:
    """One TrueType font as a PDF Type0 font; remembers which glyphs were used for /W and /ToUnicode."""

    def __init__(self, style: str = "Regular", *, decomposed: bool = False, ligature_as: str | None = None):
        self.path = _font_path(style)
        self.tt = TTFont(str(self.path))
        self.cmap = self.tt.getBestCmap()
        self.upem = self.tt["head"].unitsPerEm
        self.decomposed = decomposed
        self.ligature_as = ligature_as  # None: no ligatures; "fi": ToUnicode gives "fi"; "\ufb01": the ligature
        self.used: dict[int, str] = {}
        self.name = f"Liberation-Serif-{style}"

    def _gid(self, ch: str) -> int:
        return self.tt.getGlyphID(self.cmap[ord(ch)])

    def advance(self, gid: int) -> float:
        return self.tt["hmtx"].metrics[self.tt.getGlyphName(gid)][0] * 1000.0 / self.upem

    def encode(self, text: str) -> tuple[str, float]:
        """Hex string of glyph ids for ``text`` and its width in 1/1000 of the font size."""
        text = unicodedata.normalize("NFD" if self.decomposed else "NFC", text)
        gids: list[int] = []
        i = 0
        while i < len(text):
            if self.ligature_as and text.startswith("fi", i):
                gid = self._gid("\ufb01")
                self.used[gid] = self.ligature_as
                i += 2
            else:
                gid = self._gid(text[i])
                self.used.setdefault(gid, text[i])
                i += 1
            gids.append(gid)
        return "".join(f"{g:04X}" for g in gids), sum(self.advance(g) for g in gids)

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` in points at ``size``."""
        return self.encode(text)[1] * size / 1000.0

    def to_pdf(self, pdf: pikepdf.Pdf) -> pikepdf.Object:
        data = self.path.read_bytes()
        ff = pdf.make_stream(data)
        ff["/Length1"] = len(data)
        widths = pikepdf.Array()
        for gid in sorted(self.used):
            widths.extend([gid, pikepdf.Array([round(self.advance(gid))])])
        head, hhea = self.tt["head"], self.tt["hhea"]
        k = 1000.0 / self.upem
        desc = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/" + self.name), Flags=34,
            FontBBox=[round(head.xMin * k), round(head.yMin * k), round(head.xMax * k), round(head.yMax * k)],
            ItalicAngle=0, Ascent=round(hhea.ascent * k), Descent=round(hhea.descent * k), CapHeight=662, StemV=80,
            FontFile2=ff)
        cid = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name("/" + self.name),
            CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=desc, CIDToGIDMap=pikepdf.Name.Identity, DW=1000, W=widths)
        entries = "".join(f"<{g:04X}> <{u.encode('utf-16-be').hex().upper()}>\n" for g, u in sorted(self.used.items()))
        cmap = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) "
                "/Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{len(self.used)} beginbfchar\n{entries}endbfchar\nendcmap\n"
                "CMapName currentdict /CMap defineresource pop\nend\nend\n")
        return pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/" + self.name),
            Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[pdf.make_indirect(cid)],
            ToUnicode=pdf.make_stream(cmap.encode())))


@dataclass
class PageDraw:
    """Content of one page being written: text runs and images, in points from the top-left."""

    fonts: dict[str, EmbeddedFont]
    ops: list[str] = field(default_factory=list)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the visible text, line by line
    mode: int = 0  # text render mode (3: invisible)

    def text(self, x: float, y: float, text: str, size: float = 13.0, style: str = "R", *, center: bool = False,
             record: bool = True) -> float:
        """Draw ``text`` with its baseline ``y`` pt below the top; ``x`` is its left (or centre). Returns the
        next line's baseline."""
        f = self.fonts[style]
        hexs, w = f.encode(text)
        left = x - w * size / 2000.0 if center else x
        self.ops.append(f"BT {self.mode} Tr /F{style} {size:g} Tf 1 0 0 1 {left:.2f} {A4_PT[1] - y:.2f} Tm "
                        f"<{hexs}> Tj ET")
        if record:
            self.lines.append(text)
        return y + size * 1.4

    def image(self, arr: np.ndarray, x: float, y: float, w: float, h: float) -> None:
        """Place an RGB or gray image with its top-left ``(x, y)`` pt from the page's top-left."""
        name = f"Im{len(self.images) + 1}"
        self.images[name] = arr
        self.ops.append(f"q {w:.2f} 0 0 {h:.2f} {x:.2f} {A4_PT[1] - y - h:.2f} cm /{name} Do Q")


def new_page(*, decomposed: bool = False, ligature_as: str | None = None) -> PageDraw:
    """An empty A4 page with Liberation Serif regular (R), bold (B) and italic (I)."""
    return PageDraw({"R": EmbeddedFont("Regular", decomposed=decomposed, ligature_as=ligature_as),
                     "B": EmbeddedFont("Bold", decomposed=decomposed, ligature_as=ligature_as),
                     "I": EmbeddedFont("Italic", decomposed=decomposed, ligature_as=ligature_as)})


def save(pages: list[PageDraw], path: Path, *, rotate: int = 0) -> None:
    """Write the pages as a PDF (each page embeds the fonts it used). ``rotate=90``: each page is a
    landscape media box with /Rotate 90 whose content is drawn turned, so it shows upright."""
    pdf = pikepdf.new()
    for pd in pages:
        fonts = pikepdf.Dictionary({f"/F{k}": f.to_pdf(pdf) for k, f in pd.fonts.items() if f.used})
        xobjects = pikepdf.Dictionary()
        for name, arr in pd.images.items():
            rgb = arr.ndim == 3
            st = pdf.make_stream(zlib.compress(np.ascontiguousarray(arr).tobytes()))
            st.Type, st.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
            st.Width, st.Height, st.BitsPerComponent = arr.shape[1], arr.shape[0], 8
            st.ColorSpace = pikepdf.Name.DeviceRGB if rgb else pikepdf.Name.DeviceGray
            st.Filter = pikepdf.Name.FlateDecode
            xobjects[f"/{name}"] = st
        ops, box = pd.ops, [0, 0, *A4_PT]
        if rotate == 90:  # a landscape media box shown turned: the content is drawn turned back (upright)
            ops, box = [f"q 0 1 -1 0 {A4_PT[1]} 0 cm", *ops, "Q"], [0, 0, A4_PT[1], A4_PT[0]]
        elif rotate:
            raise ValueError("only /Rotate 90 is generated")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=box, Resources=pikepdf.Dictionary(Font=fonts, XObject=xobjects),
            Contents=pdf.make_stream("\n".join(ops).encode()))
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)


def text_page(path: Path, lines: list[str], *, decomposed: bool = False, ligature_as: str | None = None,
              rotate: int = 0, size: float = 13.0, mode: int = 0) -> list[str]:
    """A page of left-aligned lines (text render ``mode``: 3 is invisible); returns the lines as drawn."""
    pd = new_page(decomposed=decomposed, ligature_as=ligature_as)
    pd.mode = mode
    y = 90.0
    for ln in lines:
        y = pd.text(85, y, ln, size)
    save([pd], path, rotate=rotate)
    return pd.lines


def seal_image(px: int = 360) -> np.ndarray:
    """A red round seal (RGB) with a star: coloured ink only, no black text."""
    im = Image.new("RGB", (px, px), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse((8, 8, px - 8, px - 8), outline=(215, 30, 35), width=px // 28)
    d.ellipse((px // 5, px // 5, px - px // 5, px - px // 5), outline=(215, 30, 35), width=px // 50)
    d.regular_polygon((px / 2, px / 2, px / 8), 5, fill=(215, 30, 35))
    return np.asarray(im)


def stamp_image(text: str = "BẢN SAO ĐIỆN TỬ", px_h: int = 150) -> np.ndarray:
    """A gray scanned stamp: ``text`` in black inside a frame (text that only OCR can read)."""
    f = font(px_h // 3, bold=True)
    w = int(f.getlength(text)) + px_h
    im = Image.new("L", (w, px_h), 255)
    d = ImageDraw.Draw(im)
    d.rectangle((4, 4, w - 5, px_h - 5), outline=0, width=5)
    d.text((px_h // 2, px_h // 3), text, font=f, fill=0)
    return np.asarray(im)


def decision_pdf(path: Path, spec: DocSpec = DocSpec(), *, seal: bool = False, stamp: str | None = None,
                 decomposed: bool = False, rotate: int = 0) -> dict:
    """A born-digital decision laid out like :func:`digitize.samples.documents.render` (Decree 30 layout).

    Returns ``{"fields": ..., "lines": [...], "stamp": text}``: the visible text line by line (the
    stamp picture's text is not part of it)."""
    pd = new_page(decomposed=decomposed)
    W = A4_PT[0]
    lx, rx, top = W * 0.27, W * 0.66, 72.0
    y = pd.text(lx, top, spec.parent, 13, center=True)
    y = pd.text(lx, y, spec.body_name, 13, "B", center=True)
    y = pd.text(lx, y + 8, f"Số: {spec.number}", 13, center=True)
    if spec.type_name is None and spec.summary:  # a công văn: "V/v ..." under the number
        for ln in _wrap(pd.fonts["R"], f"V/v {spec.summary}", 12, W * 0.36):
            y = pd.text(lx, y, ln, 12, center=True)
    yr = pd.text(rx, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, "B", center=True)
    yr = pd.text(rx, yr, "Độc lập - Tự do - Hạnh phúc", 13, "B", center=True)
    date_line = f"{spec.place}, ngày {spec.date.day:02d} tháng {spec.date.month} năm {spec.date.year}"
    yr = pd.text(rx, yr + 8, date_line, 13, "I", center=True)
    y = max(y, yr) + 22
    if spec.type_name:
        y = pd.text(W / 2, y, spec.type_name, 14, "B", center=True)
    if spec.type_name and spec.summary:
        for ln in _wrap(pd.fonts["B"], spec.summary, 13, W * 0.7):
            y = pd.text(W / 2, y, ln, 13, "B", center=True)
    y += 14
    margin = 85.0
    for para in spec.body:
        for ln in _wrap(pd.fonts["R"], para, 13, W - margin - 57):
            y = pd.text(margin, y, ln, 13)
    y += 16
    yy = pd.text(margin, y, "Nơi nhận:", 12, "I")
    yy = pd.text(margin, yy, "- Như Điều 3;", 11)
    pd.text(margin, yy, "- Lưu: VT.", 11)
    ys = pd.text(rx, y, spec.authority, 13, "B", center=True)
    ys = pd.text(rx, ys, spec.position, 13, "B", center=True)
    if seal:
        pd.image(seal_image(), rx - 80, ys - 10, 100, 100)
    pd.text(rx, ys + 70, spec.signer, 13, "B", center=True)
    if stamp:
        arr = stamp_image(stamp)
        h = 36.0
        pd.image(arr, margin, 790 - h, h * arr.shape[1] / arr.shape[0], h)
    save([pd], path, rotate=rotate)
    fields = {"doc_type": spec.doc_type, "number": spec.number, "issued_date": spec.date.isoformat(),
              "issuer": spec.issuer, "place": spec.place, "summary": spec.summary, "signer": spec.signer}
    if spec.type_name is None and spec.summary:
        fields["summary"] = f"V/v {spec.summary}"  # a công văn's trích yếu is recorded as printed
    return {"fields": fields, "lines": pd.lines, "stamp": stamp}


def _wrap(f: EmbeddedFont, text: str, size: float, width: float) -> list[str]:
    return wrap_words(text, width, lambda t: f.width(t, size))


def scan_with_ocr_layer(path: Path, spec: DocSpec = DocSpec(), *, layer: list[str], dpi: int = 200) -> dict:
    """A scanned page (the rendered decision as a full-page gray image) under an invisible text layer
    (render mode 3) that says ``layer`` — as OCR software leaves it."""
    rendered = render(spec, dpi=dpi)
    pd = new_page()
    pd.image(np.asarray(rendered.pages[0]), 0, 0, *A4_PT)
    pd.mode = 3
    y = 80.0
    for ln in layer:
        y = pd.text(70, y, ln, 13)
    save([pd], path)
    return {"fields": rendered.fields, "lines": rendered.lines}


def image_only_pdf(path: Path, spec: DocSpec = DocSpec(), *, dpi: int = 200) -> dict:
    """A plain scan: the rendered decision as a page image, no text at all."""
    rendered = render(spec, dpi=dpi)
    buf = io.BytesIO()
    rendered.pages[0].save(buf, format="PDF", resolution=dpi)
    path.write_bytes(buf.getvalue())
    return {"fields": rendered.fields, "lines": rendered.lines}
