"""Words placed the way Tesseract reports them on a 300 dpi A4 page (no image, no OCR): Decree 30 headers,
bodies and signature blocks for the metadata-extraction tests, and the extraction run on them."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from digitize.document.extract import extract_metadata
from digitize.models import PageResult, Word

W, H = 2480, 3508
TODAY = dt.date(2025, 6, 1)


@dataclass
class Sheet:
    """Places words the way Tesseract reports them on a 300 dpi A4 page."""

    words: list[Word] = field(default_factory=list)
    block: int = 0

    def line(self, text: str, y: int, *, x: int | None = None, cx: int | None = None, size: int = 44,
             conf: float = 95.0, confs: dict[str, float] | None = None) -> None:
        """One printed line: left-aligned at ``x`` or centred on ``cx``; a word per whitespace run."""
        tokens = text.split()
        widths = [int(len(t) * size * (0.62 if t.isupper() else 0.47)) + 8 for t in tokens]
        total = sum(widths) + 16 * (len(tokens) - 1)
        left = x if x is not None else int((cx or W // 2) - total / 2)
        self.block += 1
        for i, (t, wd) in enumerate(zip(tokens, widths, strict=True)):
            c = (confs or {}).get(t, conf)
            self.words.append(Word(t, left, y, wd, size, c, self.block, 1, i + 1))
            left += wd + 16

    def page(self, n: int = 1, *, shuffle: int | None = None) -> PageResult:
        words = list(self.words)
        if shuffle is not None:
            random.Random(shuffle).shuffle(words)
        text = "\n".join(w.text for w in words)
        return PageResult(page=n, width=W, height=H, words=tuple(words), text=text, mean_conf=90.0)


LEFT, RIGHT = 660, 1700  # centres of the issuer column and the national title column


def header(s: Sheet, *, parent: str, body: str | None, number: str, date_line: str | None,
           vv: tuple[str, ...] = ()) -> int:
    """Issuer block and national title block, interleaved row by row as Tesseract reads them."""
    s.line(parent, 230, cx=LEFT)
    s.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 230, cx=RIGHT)
    y = 290
    if body:
        s.line(body, y, cx=LEFT)
    s.line("Độc lập - Tự do - Hạnh phúc", 290, cx=RIGHT)
    y = 350 if body else 290
    s.line(f"Số: {number}", 420, cx=LEFT)
    if date_line:
        s.line(date_line, 420, cx=RIGHT)
    y = 420
    for i, v in enumerate(vv):
        s.line(v, 490 + 56 * i, cx=LEFT, size=40)
        y = 490 + 56 * i
    return y + 120


def body(s: Sheet, y: int, lines: list[str]) -> int:
    for i, ln in enumerate(lines):
        s.line(ln, y, x=505 if i % 4 == 0 else 355)
        y += 78
    return y


def footer(s: Sheet, y: int, *, authority: tuple[str, ...], name: str | None, seal_noise: bool = True) -> None:
    s.line("Nơi nhận:", y, x=355, size=40)
    s.line("- Như Điều 3;", y + 60, x=380, size=34)
    s.line("- Lưu: VT.", y + 110, x=380, size=34)
    for i, a in enumerate(authority):
        s.line(a, y + 70 * i, cx=RIGHT)
    if seal_noise:  # seal ring and signature strokes read as junk
        s.line("ẰY Bà", y + 70 * len(authority) + 60, cx=RIGHT - 200, conf=12)
        s.line("⁄Zodrxse", y + 70 * len(authority) + 160, cx=RIGHT, conf=5)
    if name:
        s.line(name, y + 70 * len(authority) + 330, cx=RIGHT)


def run(*pages: PageResult, dossier_id: str | None = None, reocr=None):
    return extract_metadata(list(pages), dossier_id=dossier_id, today=TODAY, reocr=reocr)
