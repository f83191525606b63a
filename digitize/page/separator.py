"""Separator sheets: one A4 page per dossier code, to put in front of each dossier before scanning.

A sheet carries the title "PHIẾU PHÂN TÁCH HỒ SƠ", the code in large type, a QR code whose payload
is exactly the code (DESIGN.md contract 3) and short instructions in Vietnamese. The QR uses error
correction level H (30 % of the symbol may be lost to a crease, a punch hole or a staple) and a wide
quiet zone, and is large enough (about 70 mm) to survive faded toner and 150 dpi scans.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from digitize.errors import DigitizeError
from digitize.text.dossier_code import parse

log = logging.getLogger(__name__)

TITLE = "PHIẾU PHÂN TÁCH HỒ SƠ"
SUBTITLE = "(Đặt trước mỗi hồ sơ khi quét - không lưu cùng kết quả)"
INSTRUCTIONS = (
    "Hướng dẫn sử dụng:",
    "1. Đặt phiếu này lên trên cùng các trang của hồ sơ có mã ở trên, rồi quét cả tập.",
    "2. Các trang sau phiếu, đến phiếu phân tách tiếp theo, được gắn vào hồ sơ này.",
    "3. Phiếu không được lưu vào kết quả số hóa; có thể dùng lại cho cùng hồ sơ.",
    "4. Không gấp, ghim, đục lỗ hoặc viết đè lên mã QR.",
)
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
DPI = 300
_A4_MM = (210.0, 297.0)
_QR_MM = 70.0


def _font(size_px: int, *, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
    style = {(False, False): "Regular", (True, False): "Bold", (False, True): "Italic",
             (True, True): "BoldItalic"}[(bold, italic)]
    path = FONT_DIR / f"LiberationSerif-{style}.ttf"
    try:
        return ImageFont.truetype(str(path), size_px)
    except OSError as e:
        from digitize.errors import MissingDependencyError

        raise MissingDependencyError(
            f"font {path} not found: install fonts-liberation2 (Debian: apt-get install fonts-liberation2)"
        ) from e


def _centered(draw: ImageDraw.ImageDraw, width: int, y: int, text: str, font: ImageFont.FreeTypeFont) -> int:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2 - left, y), text, font=font, fill=0)
    return y + (bottom - top)


def _fit(draw: ImageDraw.ImageDraw, text: str, max_width: int, size_px: int, *, bold: bool) -> ImageFont.FreeTypeFont:
    """The largest font (up to ``size_px``) that draws ``text`` within ``max_width``."""
    while size_px > 10:
        font = _font(size_px, bold=bold)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_width:
            return font
        size_px = int(size_px * 0.92)
    return _font(size_px, bold=bold)


def _qr_image(code: str, size_px: int) -> Image.Image:
    import segno

    qr = segno.make_qr(code, error="h", boost_error=False)
    modules = qr.symbol_size(scale=1, border=0)[0]
    scale = max(1, size_px // modules)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=0, dark="black", light="white")
    buf.seek(0)
    return Image.open(buf).convert("L")


def render_sheet(code: str, dpi: int = DPI) -> Image.Image:
    """One separator sheet for a valid dossier code, as an A4 gray image at ``dpi``."""
    parsed = parse(code)
    mm = dpi / 25.4
    width, height = round(_A4_MM[0] * mm), round(_A4_MM[1] * mm)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    pt = dpi / 72
    margin = round(20 * mm)
    y = round(25 * mm)
    y = _centered(draw, width, y, TITLE, _font(round(26 * pt), bold=True)) + round(4 * mm)
    y = _centered(draw, width, y, SUBTITLE, _font(round(12 * pt), italic=True)) + round(14 * mm)
    y = _centered(draw, width, y, "Mã hồ sơ:", _font(round(16 * pt))) + round(5 * mm)
    big = _fit(draw, parsed.code, width - 2 * margin, round(36 * pt), bold=True)
    y = _centered(draw, width, y, parsed.code, big) + round(16 * mm)
    qr = _qr_image(parsed.code, round(_QR_MM * mm))
    img.paste(qr, ((width - qr.width) // 2, y))
    y += qr.height + round(16 * mm)
    body = _font(round(12.5 * pt))
    line_h = round(12.5 * pt * 1.5)
    for i, line in enumerate(INSTRUCTIONS):
        draw.text((margin, y), line, font=_font(round(12.5 * pt), bold=True) if i == 0 else body, fill=0)
        y += line_h
    date = parsed.date.strftime("%d/%m/%Y")
    footer = f"Mã hồ sơ {parsed.code} - ngày tiếp nhận {date}"
    _centered(draw, width, height - round(20 * mm), footer, _font(round(10 * pt), italic=True))
    return img


def write_sheets(codes: Sequence[str], out: Path) -> None:
    """Write one A4 separator sheet per dossier code into the PDF ``out``.

    Every code is validated first; an invalid one raises DossierCodeError naming it and nothing is
    written.
    """
    import img2pdf

    if isinstance(codes, str):
        codes = [codes]
    if not codes:
        raise DigitizeError("no dossier code given: pass at least one code")
    parsed = [parse(c) for c in codes]  # raises DossierCodeError naming the first invalid code
    pages: list[bytes] = []
    for p in parsed:
        buf = io.BytesIO()
        render_sheet(p.code).convert("1", dither=Image.Dither.NONE).save(buf, format="PNG", dpi=(DPI, DPI))
        pages.append(buf.getvalue())
    layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
    data = img2pdf.convert(pages, layout_fun=layout, title="Phiếu phân tách hồ sơ", creator="digitize")
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    log.info("wrote %d separator sheets to %s", len(parsed), out)
