"""The Decree 30 skeleton of a document's first page: the national motto and title, the two header columns,
the type-name heading and where the header ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digitize.document.lines import Line, _text_height, build_lines, group_rows
from digitize.models import PageResult
from digitize.text import doctypes
from digitize.text.doctypes import DocType
from digitize.text.vntext import (
    fold,
    is_upper_text,
)

# --- the page's skeleton --------------------------------------------------------------------------

_MOTTO_1 = "cong hoa xa hoi chu nghia viet nam"
_MOTTO_2 = "doc lap - tu do - hanh phuc"
_MOTTO_WORDS = frozenset({"xa", "hoi", "chu", "nghia"})  # the words after "CỘNG" in the motto
_OTHER_MOTTOS = ("dang cong san viet nam", "doan tncs ho chi minh")  # Party and Youth Union documents


def _similar(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return fuzz.ratio(a, b) / 100.0


def _find_motto(lines: Sequence[Line]) -> tuple[Line | None, Line | None]:
    from rapidfuzz import fuzz

    m1 = m2 = None
    for ln in lines:
        if ln.top > 0.4 * ln.page_height:
            break
        f = ln.fold
        if m1 is None and len(_MOTTO_1) // 2 <= len(f) < 2 * len(_MOTTO_1) and fuzz.partial_ratio(_MOTTO_1, f) >= 80:
            m1 = ln
        elif m1 is None and any(len(m) - 3 <= len(f) < 2 * len(m) and fuzz.partial_ratio(m, f) >= 85
                                for m in _OTHER_MOTTOS):
            m1 = ln
        elif m2 is None and len(_MOTTO_2) // 2 <= len(f) < 2 * len(_MOTTO_2) and fuzz.partial_ratio(_MOTTO_2, f) >= 75:
            m2 = ln
    return m1, m2


def _motto_cut(page: PageResult) -> tuple[float, float] | None:
    """(x, y): where the national title column starts (left edge of "CỘNG HÒA …") and its top."""
    from rapidfuzz.distance import Levenshtein

    height = page.height or max((w.top + w.height for w in page.words), default=0)
    for row in group_rows(page.words):
        if row[0].top > 0.4 * height:
            break
        folded = [fold(w.text).strip("-_.,:;'\"") for w in row]
        for i in range(len(row) - 1):
            if Levenshtein.distance(folded[i], "cong") <= 1 and (
                    folded[i + 1][:2] == "ho" or _MOTTO_WORDS.intersection(folded[i + 1 : i + 4])
                    or folded[i + 1].endswith("xa")):  # "CỘNG ÒAXÃ CHỦ NGHĨA": a garbled "HÒA"
                return float(row[i].left), float(row[i].top)
            if folded[i] in ("dang", "doan") and Levenshtein.distance(folded[i + 1], "cong") <= 1 and i + 2 < len(row) \
                    and folded[i + 2][:3] == "san":  # "ĐẢNG CỘNG SẢN VIỆT NAM"
                return float(row[i].left), float(row[i].top)
    return None


@dataclass(frozen=True)
class Skeleton:
    """Where the Decree 30 parts of the first page are."""

    lines: tuple[Line, ...]
    col_split: float  # x separating the issuer column from the national title column
    motto: Line | None
    title: Line | None  # the type-name line (or first of two)
    title_type: DocType | None
    title_score: float
    title_lines: tuple[Line, ...]
    header_bottom: float  # y below which the body starts

    @property
    def width(self) -> int:
        return self.lines[0].page_width if self.lines else 0

    @property
    def height(self) -> int:
        return self.lines[0].page_height if self.lines else 0


def _centred(ln: Line) -> bool:
    w = ln.page_width
    return 0.33 * w < ln.cx < 0.67 * w and ln.left > 0.12 * w


def _find_title(lines: Sequence[Line], start_y: float) -> tuple[tuple[Line, ...], DocType | None, float]:
    """The centred heading naming the document type (one line, or two when it wraps)."""
    for i, ln in enumerate(lines):
        if ln.top < start_y or ln.top > 0.6 * ln.page_height:
            continue
        if not _centred(ln) or not is_upper_text(ln.text, threshold=0.7) or ln.text.rstrip().endswith(":"):
            continue
        best: tuple[tuple[Line, ...], DocType, float] | None = None
        one = doctypes.match_heading(ln.text)
        if one:
            best = ((ln,), one[0], one[1])
        nxt = _next_line(lines, i)
        if nxt is not None and _centred(nxt) and is_upper_text(nxt.text, threshold=0.7):
            two = doctypes.match_heading(ln.text + " " + nxt.text)
            if two and (best is None or len(two[0].name) > len(best[1].name)):
                best = ((ln, nxt), two[0], two[1])
        if best:
            return best
    return (), None, 0.0


def _next_line(lines: Sequence[Line], i: int) -> Line | None:
    """The next line below ``lines[i]`` that overlaps it horizontally, within two line heights."""
    ln = lines[i]
    for other in lines[i + 1 :]:
        if other.top > ln.bottom + 2.0 * ln.height:
            return None
        if other.cy - ln.cy > 0.5 * ln.height and other.left < ln.right and other.right > ln.left:
            return other
    return None


def skeleton(page: PageResult, index: int = 0) -> Skeleton:
    """Find the header columns and the type-name heading of a document's first page."""
    cut = _motto_cut(page)
    width = page.width or max((w.left + w.width for w in page.words), default=1)
    h = _text_height(page.words) if page.words else 40.0
    cuts = [cut[0] - 0.01 * width] if cut else []
    lines = build_lines(page, index, cuts=cuts, cut_until=cut[1] + 8 * h if cut else 0.0)
    m1, m2 = _find_motto(lines)
    col_split = min([ln.left for ln in (m1, m2) if ln is not None] or [0.45 * width]) - 0.01 * width
    col_split = min(col_split, 0.6 * width)
    start = m1.top if m1 else 0.0
    title_lines, title_type, score = _find_title(lines, start)
    title = title_lines[0] if title_lines else None
    if title is not None:
        header_bottom = float(title.top)
    else:
        header_bottom = _header_bottom_without_title(lines, col_split)
    return Skeleton(tuple(lines), col_split, m1, title, title_type, score, title_lines, header_bottom)


def _header_bottom_without_title(lines: Sequence[Line], col_split: float) -> float:
    """Without a heading, the header ends at the first line that spans both columns."""
    for ln in lines:
        if ln.top > 0.08 * ln.page_height and ln.left < col_split - 0.15 * ln.page_width \
                and ln.right > col_split + 0.05 * ln.page_width:  # a date line may start a little left of the motto
            return float(ln.top)
    return 0.35 * (lines[0].page_height if lines else 0)
