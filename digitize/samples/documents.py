"""Generate Decree 30/2020-style result documents as page images, with their ground truth.

Used by the tests and by ``scripts/make_samples.py`` (the scans shipped in ``samples/``). Text is
drawn with Liberation Serif (Debian's fonts-liberation2), the Times-like face most offices use.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = [Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/liberation")]
A4_MM = (210, 297)


def font(size_px: int, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
    """Liberation Serif at a pixel size."""
    style = {(False, False): "Regular", (True, False): "Bold", (False, True): "Italic",
             (True, True): "BoldItalic"}[(bold, italic)]
    for d in FONT_DIRS:
        p = d / f"LiberationSerif-{style}.ttf"
        if p.exists():
            return ImageFont.truetype(str(p), size_px)
    raise FileNotFoundError("Liberation Serif not found: apt-get install fonts-liberation2")


@dataclass(frozen=True)
class DocSpec:
    """What a generated result document says."""

    parent: str = "ỦY BAN NHÂN DÂN"
    body_name: str = "HUYỆN KIẾN XƯƠNG"
    issuer: str = "Ủy ban nhân dân huyện Kiến Xương"
    number: str = "123/QĐ-UBND"
    place: str = "Kiến Xương"
    date: dt.date = dt.date(2021, 6, 15)
    type_name: str | None = "QUYẾT ĐỊNH"
    doc_type: str = "Quyết định"
    summary: str | None = "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ cho hộ ông Nguyễn Văn An"
    body: tuple[str, ...] = (
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Căn cứ Luật Xây dựng ngày 18 tháng 6 năm 2014;",
        "Xét đề nghị của Trưởng phòng Kinh tế và Hạ tầng huyện,",
        "Điều 1. Cấp giấy phép xây dựng cho hộ ông Nguyễn Văn An, thôn Đông, xã Bình Minh.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
        "Điều 3. Chánh Văn phòng và các cơ quan có liên quan chịu trách nhiệm thi hành./.",
    )
    authority: str = "TM. ỦY BAN NHÂN DÂN"
    position: str = "CHỦ TỊCH"
    signer: str = "Nguyễn Văn Bình"
    extra_pages: int = 0  # continuation pages (page number at the top, no title block)


@dataclass
class Rendered:
    """Page images of a document and what they say."""

    pages: list[Image.Image]
    fields: dict[str, str | None]
    text: str
    lines: list[str] = field(default_factory=list)


def _centered(draw: ImageDraw.ImageDraw, cx: int, y: int, text: str, f: ImageFont.FreeTypeFont) -> int:
    w = draw.textlength(text, font=f)
    draw.text((cx - w / 2, y), text, font=f, fill=0)
    return y + int(f.size * 1.35)


def wrap_words(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` broken into lines no wider than ``width`` as ``measure`` sizes them (a word longer than
    the width stands alone on its line)."""
    lines: list[str] = []
    cur = ""
    for w in text.split():
        trial = f"{cur} {w}".strip()
        if measure(trial) > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def _wrap(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    return wrap_words(text, width, lambda t: draw.textlength(t, font=f))


def render(spec: DocSpec, dpi: int = 300) -> Rendered:
    """Render ``spec`` as upright, clean A4 pages at ``dpi`` (gray, 'L')."""
    W, H = (round(mm / 25.4 * dpi) for mm in A4_MM)
    pt = dpi / 72
    f_reg, f_b = font(round(13 * pt)), font(round(13 * pt), bold=True)
    f_i = font(round(13 * pt), italic=True)
    f_title = font(round(14 * pt), bold=True)
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    left_cx, right_cx = int(W * 0.27), int(W * 0.66)
    top = int(20 / 25.4 * dpi)
    lines: list[str] = []
    # issuer block (left) and national title block (right)
    y = _centered(d, left_cx, top, spec.parent, f_reg)
    y = _centered(d, left_cx, y, spec.body_name, f_b)
    y = _centered(d, left_cx, y + int(8 * pt), f"Số: {spec.number}", f_reg)
    lines += [spec.parent, spec.body_name, f"Số: {spec.number}"]
    vv_lines: list[str] = []
    if spec.type_name is None and spec.summary:
        vv_lines = _wrap(d, f"V/v {spec.summary}", f_reg, W * 0.36)
        for ln in vv_lines:
            y = _centered(d, left_cx, y, ln, f_reg)
        lines += vv_lines
    yr = _centered(d, right_cx, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", f_b)
    yr = _centered(d, right_cx, yr, "Độc lập - Tự do - Hạnh phúc", f_b)
    date_line = f"{spec.place}, ngày {spec.date.day:02d} tháng {spec.date.month} năm {spec.date.year}"
    yr = _centered(d, right_cx, yr + int(8 * pt), date_line, f_i)
    lines += ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", date_line]
    y = max(y, yr) + int(20 * pt)
    if spec.type_name:
        y = _centered(d, W // 2, y, spec.type_name, f_title)
        lines.append(spec.type_name)
        if spec.summary:
            for ln in _wrap(d, spec.summary, f_b, W * 0.7):
                y = _centered(d, W // 2, y, ln, f_b)
                lines.append(ln)
        y += int(14 * pt)
    margin = int(30 / 25.4 * dpi)
    body_w = W - margin - int(20 / 25.4 * dpi)
    pages = [img]
    for para in spec.body:
        for ln in _wrap(d, para, f_reg, body_w):
            d.text((margin, y), ln, font=f_reg, fill=0)
            lines.append(ln)
            y += int(13 * pt * 1.5)
    for i in range(spec.extra_pages):
        page = Image.new("L", (W, H), 255)
        pd = ImageDraw.Draw(page)
        yy = _centered(pd, W // 2, top, str(i + 2), f_reg) + int(10 * pt)
        lines.append(str(i + 2))
        rnd = random.Random(i)
        for _ in range(12):
            ln = rnd.choice(spec.body)
            for part in _wrap(pd, ln, f_reg, body_w):
                pd.text((margin, yy), part, font=f_reg, fill=0)
                lines.append(part)
                yy += int(13 * pt * 1.5)
        pages.append(page)
        d, y = pd, yy
    # signer block (right) and recipients (left) on the last page
    y += int(16 * pt)
    ys = _centered(d, right_cx, y, spec.authority, f_b)
    ys = _centered(d, right_cx, ys, spec.position, f_b)
    ys = _centered(d, right_cx, ys + int(50 * pt), spec.signer, f_b)
    d.text((margin, y), "Nơi nhận:", font=f_i, fill=0)
    d.text((margin, y + int(13 * pt * 1.4)), "- Như Điều 3;", font=f_reg, fill=0)
    d.text((margin, y + int(13 * pt * 2.8)), "- Lưu: VT.", font=f_reg, fill=0)
    lines += ["Nơi nhận:", "- Như Điều 3;", "- Lưu: VT.", spec.authority, spec.position, spec.signer]
    fields = {"doc_type": spec.doc_type, "number": spec.number, "issued_date": spec.date.isoformat(),
              "issuer": spec.issuer, "place": spec.place, "summary": spec.summary, "signer": spec.signer}
    return Rendered(pages=pages, fields=fields, text="\n".join(lines), lines=lines)


def cong_van(**kw: object) -> DocSpec:
    """A công văn: no type name, "V/v ..." under the number."""
    base = dict(number="45/UBND-VP", type_name=None, doc_type="Công văn",
                summary="trả lời đơn đề nghị của ông Trần Văn Cường",
                body=("Kính gửi: Ông Trần Văn Cường.",
                      "Ủy ban nhân dân huyện nhận được đơn của ông về việc đề nghị cấp lại giấy chứng nhận.",
                      "Ủy ban nhân dân huyện trả lời để ông được biết và thực hiện./."),
                authority="TL. CHỦ TỊCH", position="CHÁNH VĂN PHÒNG", signer="Lê Thị Hoa")
    base.update(kw)
    return DocSpec(**base)  # type: ignore[arg-type]


def save_pdf(pages: list[Image.Image], path: Path, dpi: int = 300, quality: int = 80) -> None:
    """Save page images as an image-only PDF (a scanner's output)."""
    import io

    import img2pdf

    blobs = []
    for p in pages:
        buf = io.BytesIO()
        p.convert("RGB" if p.mode not in ("L", "1") else p.mode).save(buf, format="JPEG", quality=quality)
        blobs.append(buf.getvalue())
    path.write_bytes(img2pdf.convert(blobs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))))
