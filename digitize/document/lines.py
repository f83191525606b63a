"""Words regrouped into printed lines by geometry: rows by vertical position, columns by horizontal gaps
and the header's column boundary; and what a field finder returns (a value found on a line)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from digitize.models import Field, PageResult, Word
from digitize.text.vntext import (
    collapse,
    fold,
)

# --- lines from words -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """Words of one printed line segment (one column of one row), left to right."""

    page: int  # index of the page within the document
    words: tuple[Word, ...]
    page_width: int
    page_height: int

    @property
    def text(self) -> str:
        return collapse(" ".join(w.text for w in self.words))

    @property
    def left(self) -> int:
        return min(w.left for w in self.words)

    @property
    def right(self) -> int:
        return max(w.left + w.width for w in self.words)

    @property
    def top(self) -> int:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> int:
        return max(w.top + w.height for w in self.words)

    @property
    def cx(self) -> float:
        return (self.left + self.right) / 2

    @property
    def cy(self) -> float:
        return statistics.median(w.top + w.height / 2 for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)

    @property
    def conf(self) -> float:
        """Mean OCR confidence of the words, 0..1."""
        return sum(max(w.conf, 0.0) for w in self.words) / len(self.words) / 100.0

    @property
    def fold(self) -> str:
        return fold(self.text)


# "Nơi nhận:" (also read "Nai nhận") folded: the recipients' list that ends a document's own pages
RECIPIENTS = ("noi nhan", "nai nhan")

TALL = 2.5  # a "word" this many text heights tall ...
TALL_CONF = 60.0  # ... read with less confidence than this is a mark, not text


def _is_noise(w: Word) -> bool:
    """Rules, underlines and specks that carry no text."""
    t = w.text.strip()
    if not t:
        return True
    alnum = sum(ch.isalnum() for ch in t)
    if alnum == 0:
        return len(t) > 3 or w.width > 3 * max(w.height, 1)
    return False


def _text_height(words: Sequence[Word]) -> float:
    hs = [w.height for w in words if sum(ch.isalnum() for ch in w.text) >= 2]
    return float(statistics.median(hs)) if hs else 40.0


def group_rows(words: Sequence[Word]) -> list[list[Word]]:
    """Cluster words into rows by vertical position; each row sorted left to right.

    A word joins the row whose horizontally nearest word has its centre within half a text height,
    so a slightly skewed line still forms one row while the two header columns, printed at the same
    height, fall into the same row (they are split into columns afterwards).
    """
    ws = [w for w in words if not _is_noise(w)]
    if not ws:
        return []
    h = _text_height(ws)
    # a stamp's or a signature's stroke read as a word: far taller than the print and read unsurely
    ws = [w for w in ws if not (w.height > TALL * h and 0 <= w.conf < TALL_CONF)]
    rows: list[list[Word]] = []
    def centres(w: Word) -> tuple[float, ...]:
        # a word merged with a seal or an underline is too tall: its text sits at its top or bottom
        mid = w.top + w.height / 2
        return (mid, w.top + h / 2, w.top + w.height - h / 2) if w.height > 1.6 * h else (mid,)

    for w in sorted(ws, key=lambda w: (w.top + w.height / 2, w.left)):
        options = centres(w)
        best, best_d = None, None
        for row in rows[-40:]:
            if abs(row[-1].top + row[-1].height / 2 - options[0]) > 3 * h + w.height + row[-1].height:
                continue
            near = min(row, key=lambda r: abs((r.left + r.width / 2) - (w.left + w.width / 2)))
            d = min(abs(a - b) for a in centres(near) for b in options)
            if d <= 0.5 * h and (best_d is None or d < best_d):
                best, best_d = row, d
        if best is None:
            rows.append([w])
        else:
            best.append(w)
    for row in rows:
        row.sort(key=lambda w: w.left)
    rows.sort(key=lambda r: statistics.median(w.top + w.height / 2 for w in r))
    return rows


def split_row(row: Sequence[Word], *, gap: float, cuts: Sequence[float] = (), min_cut_gap: float = 0.0
              ) -> list[list[Word]]:
    """Split a row into segments at horizontal gaps wider than ``gap``, and at the x ``cuts`` (column
    boundaries) where the words there are at least ``min_cut_gap`` apart."""
    segs: list[list[Word]] = [[row[0]]]
    for prev, w in zip(row, row[1:], strict=False):
        space = w.left - (prev.left + prev.width)
        crosses = any(prev.left + prev.width / 2 < c <= w.left + w.width / 2 for c in cuts)
        if space > gap or (crosses and space > min_cut_gap):
            segs.append([w])
        else:
            segs[-1].append(w)
    return segs


def build_lines(page: PageResult, index: int = 0, *, cuts: Sequence[float] = (), cut_until: float = 0.0
                ) -> list[Line]:
    """The page's line segments, top to bottom then left to right.

    Rows are split at wide gaps; rows starting above ``cut_until`` (the header) are also split at the
    column boundaries in ``cuts``, where the two header columns can come close.
    """
    words = [w for w in page.words if w.text.strip()]
    if not words:
        return []
    width = page.width or max(w.left + w.width for w in words)
    height = page.height or max(w.top + w.height for w in words)
    h = _text_height(words)
    lines: list[Line] = []
    for row in group_rows(words):
        row_cuts = cuts if min(w.top for w in row) < cut_until else ()
        for seg in split_row(row, gap=1.8 * h, cuts=row_cuts, min_cut_gap=0.6 * h):
            lines.append(Line(index, tuple(seg), width, height))
    return lines


@dataclass(frozen=True)
class _Found:
    value: str | None
    conf: float = 0.0
    reason: str | None = None
    line: Line | None = None
    extra: tuple[str, ...] = ()

    def field(self) -> Field:
        return Field(self.value, round(self.conf, 3), self.reason)


def _words_conf(words: Sequence[Word]) -> float:
    if not words:
        return 0.0
    return sum(max(w.conf, 0.0) for w in words) / len(words) / 100.0
