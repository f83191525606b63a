"""Generate the pages of a scanned batch: separator sheets, receipts, result documents, blanks.

Each generator returns a :class:`Sheet`: the upright page image (``uint8`` gray, A4 at ``dpi``) and
the text printed on it, line by line, as a perfect OCR would read it. Segmentation tests build
``PageResult`` values from the text (optionally damaged by :func:`ocr_damage`) and the codes read
from the image, so they need no Tesseract. Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw

from digitize.models import Code, PageResult, Quality
from digitize.page.separator import INSTRUCTIONS, SUBTITLE, TITLE, render_sheet
from digitize.samples import pages as P
from digitize.samples.documents import font

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
RECEIPT_TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"


@dataclass(frozen=True)
class Sheet:
    """One generated page: its upright image and its printed text (lines joined by newlines)."""

    image: np.ndarray
    text: str
    kind: str  # "separator", "receipt", "document", "blank" (ground truth for tests)


class _Page:
    """A tiny layout helper: A4 canvas, text lines at mm positions, a record of the printed text."""

    def __init__(self, dpi: int) -> None:
        self.dpi = dpi
        self.mm = dpi / 25.4
        self.w, self.h = P.a4_size(dpi)
        self.img = Image.new("L", (self.w, self.h), 255)
        self.draw = ImageDraw.Draw(self.img)
        self.lines: list[str] = []

    def px(self, pt: float) -> int:
        return round(pt / 72 * self.dpi)

    def text(self, x_mm: float | None, y_mm: float, text: str, pt: float = 13, *, bold: bool = False,
             italic: bool = False, center_of: tuple[float, float] | None = None) -> None:
        f = font(self.px(pt), bold, italic)
        y = round(y_mm * self.mm)
        if center_of is not None:
            left, right = (round(v * self.mm) for v in center_of)
            tw = self.draw.textlength(text, font=f)
            x = round((left + right - tw) / 2)
        else:
            x = round((x_mm or 0) * self.mm)
        self.draw.text((x, y), text, font=f, fill=0)
        if text:
            self.lines.append(text)

    def paste(self, img: Image.Image, x_mm: float, y_mm: float) -> None:
        self.img.paste(img, (round(x_mm * self.mm), round(y_mm * self.mm)))

    def array(self) -> np.ndarray:
        return np.asarray(self.img).copy()


def _barcode(payload: str, fmt: zxingcpp.BarcodeFormat, module_px: int) -> Image.Image:
    code = zxingcpp.create_barcode(payload, fmt)
    img = np.asarray(zxingcpp.write_barcode_to_image(code, scale=1, add_quiet_zones=True))
    pil = Image.fromarray(img.astype(np.uint8)).convert("L")
    if fmt == zxingcpp.BarcodeFormat.Code128:
        return pil.resize((pil.width * module_px, module_px * 35), Image.NEAREST)  # bars ~35 modules tall
    return pil.resize((pil.width * module_px, pil.height * module_px), Image.NEAREST)


def separator(code: str, dpi: int = 200) -> Sheet:
    """A separator sheet exactly as ``digitize separator`` prints it."""
    img = np.asarray(render_sheet(code, dpi=dpi)).copy()
    text = "\n".join([TITLE, SUBTITLE, "Mã hồ sơ:", code, *INSTRUCTIONS])
    return Sheet(img, text, "separator")


def receipt(code: str, dpi: int = 200, *, barcode: bool = True, code_text: bool = True, qr: bool = False,
            office: str = "HUYỆN VŨ THƯ") -> Sheet:
    """A "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" with "Mã hồ sơ: CODE" and/or a Code128 of the code."""
    pg = _Page(dpi)
    pg.text(None, 15, f"UBND {office}", 12, center_of=(15, 95))
    pg.text(None, 20, "BỘ PHẬN MỘT CỬA", 12, bold=True, center_of=(15, 95))
    pg.text(None, 15, MOTTO[0], 12, bold=True, center_of=(90, 205))
    pg.text(None, 20, MOTTO[1], 12, bold=True, center_of=(90, 205))
    pg.text(None, 28, "Vũ Thư, ngày 26 tháng 11 năm 2024", 12, italic=True, center_of=(90, 205))
    if barcode:  # modules of about 0.3 mm, right-aligned under the motto as the one-stop software prints it
        bar = _barcode(code, zxingcpp.BarcodeFormat.Code128, max(2, round(0.3 * pg.mm)))
        pg.paste(bar, (pg.w - bar.width) / pg.mm - 12, 36)
    if qr:
        pg.paste(_barcode(code, zxingcpp.BarcodeFormat.QRCode, max(3, round(dpi / 50))), 20, 36)
    pg.text(None, 62, RECEIPT_TITLE, 14, bold=True, center_of=(20, 190))
    if code_text:
        pg.text(None, 70, f"Mã hồ sơ: {code}", 13, bold=True, center_of=(20, 190))
    body = ("Bộ phận tiếp nhận và trả kết quả Ủy ban nhân dân huyện tiếp nhận hồ sơ của:",
            "Bà Mai Thùy Trang", "Địa chỉ: thôn Lạc Thành, xã Việt Hùng, huyện Vũ Thư, tỉnh Thái Bình",
            "Nội dung yêu cầu giải quyết: Cấp giấy phép xây dựng đối với nhà ở riêng lẻ",
            "1. Thành phần hồ sơ nộp gồm: Đơn đề nghị (bản chính); giấy tờ chứng minh kèm theo.",
            "2. Số lượng hồ sơ: 01 (bộ).", "3. Thời gian giải quyết hồ sơ theo quy định là: 20 ngày làm việc.",
            "4. Thời gian trả kết quả giải quyết hồ sơ: 10 giờ 00 phút, ngày 16/12/2024.",
            "Vào Sổ theo dõi hồ sơ, Quyển số: 01, Số thứ tự: 0222")
    for i, line in enumerate(body):
        pg.text(25, 80 + i * 7, line, 12)
    pg.text(None, 150, "NGƯỜI NỘP HỒ SƠ", 12, bold=True, center_of=(15, 100))
    pg.text(None, 150, "NGƯỜI TIẾP NHẬN HỒ SƠ", 12, bold=True, center_of=(110, 200))
    return Sheet(pg.array(), "\n".join(pg.lines), "receipt")


def document_first(dpi: int = 200, *, number: str = "123/QĐ-UBND", title: str = "QUYẾT ĐỊNH",
                   summary: str = "Về việc cấp Giấy phép xây dựng", code_line: str | None = None,
                   qr_payload: str | None = None, body_lines: int = 12) -> Sheet:
    """The first page of a result document: Decree 30/2020 header (issuer, "Số:", national motto)."""
    pg = _Page(dpi)
    pg.text(None, 15, "ỦY BAN NHÂN DÂN", 12, center_of=(15, 85))
    pg.text(None, 20, "HUYỆN KIẾN XƯƠNG", 12, bold=True, center_of=(15, 85))
    pg.text(None, 28, f"Số: {number}", 12, center_of=(15, 85))
    pg.text(None, 15, MOTTO[0], 12, bold=True, center_of=(85, 205))
    pg.text(None, 20, MOTTO[1], 12, bold=True, center_of=(85, 205))
    pg.text(None, 28, "Kiến Xương, ngày 15 tháng 6 năm 2021", 12, italic=True, center_of=(85, 205))
    pg.text(None, 42, title, 14, bold=True, center_of=(20, 190))
    pg.text(None, 49, summary, 13, bold=True, center_of=(20, 190))
    y = 62.0
    if code_line:
        pg.text(30, y, code_line, 13)
        y += 8
    for i in range(body_lines):
        pg.text(30, y + i * 8, P.BODY[i % len(P.BODY)], 13)
    if qr_payload:
        pg.paste(_barcode(qr_payload, zxingcpp.BarcodeFormat.QRCode, max(3, round(dpi / 60))), 20, 230)
    return Sheet(pg.array(), "\n".join(pg.lines), "document")


def continuation(page_no: int, dpi: int = 200, *, signature: bool = True) -> Sheet:
    """A later page of a document: page number at the top, body text, no title block."""
    pg = _Page(dpi)
    pg.text(None, 10, str(page_no), 12, center_of=(0, 210))
    for i in range(10):
        pg.text(30, 25 + i * 8, P.BODY[(i + page_no) % len(P.BODY)], 13)
    if signature:
        pg.text(25, 115, "Nơi nhận:", 11, bold=True, italic=True)
        pg.text(25, 120, "- Như Điều 3;", 10)
        pg.text(None, 115, "TM. ỦY BAN NHÂN DÂN", 13, bold=True, center_of=(110, 200))
        pg.text(None, 121, "CHỦ TỊCH", 13, bold=True, center_of=(110, 200))
        pg.text(None, 150, "Khúc Trọng Bình", 13, bold=True, center_of=(110, 200))
    return Sheet(pg.array(), "\n".join(pg.lines), "document")


def blank(dpi: int = 200, *, seed: int = 0) -> Sheet:
    """The blank back of a duplex sheet (paper grain and faint bleed-through)."""
    return Sheet(P.blank_page(dpi, seed=seed), "", "blank")


# --- damage -------------------------------------------------------------------------------------------


def strip_marks(word: str) -> str:
    d = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in d if not unicodedata.combining(c)))


def ocr_damage(text: str, *, seed: int = 0, rate: float = 0.3) -> str:
    """Text as a poor OCR returns it: lost diacritics, words broken in two, O/0 and l/1 swaps."""
    rng = random.Random(seed)
    out_lines = []
    for line in text.splitlines():
        words = []
        for w in line.split(" "):
            r = rng.random()
            if r < rate:
                w = strip_marks(w)
            elif r < rate * 1.3 and len(w) > 4:
                k = rng.randrange(2, len(w) - 1)
                w = w[:k] + " " + w[k:]
            if rng.random() < rate / 3:
                w = w.replace("0", "O") if rng.random() < 0.5 else w.replace("1", "l")
            words.append(w)
        out_lines.append(" ".join(words))
    return "\n".join(out_lines)


def degrade(img: np.ndarray, *, seed: int = 0, rotate: int = 0, skew_deg: float = 0.0, noise: float = 8.0,
            faded: bool = False) -> np.ndarray:
    """A scanner's view of a sheet: faded toner, skew, a 90-degree rotation, sensor noise."""
    out = P.fade(img, 140) if faded else img
    if skew_deg:
        out = P.skew(out, skew_deg)
    if rotate:
        out = P.rotate90(out, rotate)
    if noise:
        out = P.gaussian_noise(out, noise, seed=seed)
    return out


def page_result(page: int, sheet: Sheet, *, codes: tuple[Code, ...] = (), text: str | None = None,
                error: str | None = None) -> PageResult:
    """The PageResult the per-page stages would give for this sheet (text as given, no words)."""
    h, w = sheet.image.shape[:2]
    if error:
        return PageResult(page=page, error=error)
    return PageResult(page=page, width=w, height=h, quality=Quality(blank=sheet.kind == "blank"), codes=codes,
                      text=sheet.text if text is None else text)
