"""A consolidated text's own header, printed at its end (văn bản hợp nhất, Decree 30 Appendix and Ordinance on
consolidation).

A consolidated text starts like the text it consolidates (a circular's heading and trích yếu, often no
issuer block and no number), and is authenticated at its end by a block laid out like a first page's
header: the issuing body top left ("BỘ QUỐC PHÒNG"), "XÁC THỰC VĂN BẢN HỢP NHẤT" where the motto stands,
"Số: 46/VBHN-BQP" under the body and "Hà Nội, ngày … tháng … năm …" beside it. That block, cut out and
moved to the top of a page, is read by the ordinary header readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from digitize.document.lines import build_lines
from digitize.document.skeleton import Skeleton, skeleton
from digitize.models import PageResult, Word

MARK = "xac thuc van ban hop nhat"
BLOCK_LINES = 8  # the block's height under the mark, in line heights (the number and the date line)
TOP = 100  # where the cut-out block is put on its page (pixels from the top)


def _is_mark(folded: str) -> bool:
    from rapidfuzz import fuzz

    return len(MARK) - 4 <= len(folded) <= len(MARK) + 8 and fuzz.partial_ratio(MARK, folded) >= 85


def closing_header(pages: Sequence[PageResult]) -> tuple[Skeleton, PageResult, int] | None:
    """The authentication block of a consolidated text, as the skeleton of a page holding only it, that page,
    and how far up its words were moved (pixels); None when the last two pages have no "XÁC THỰC VĂN BẢN HỢP
    NHẤT" line."""
    for page in reversed(pages[-2:]):
        lines = build_lines(page)
        mark = next((ln for ln in lines if _is_mark(ln.fold)), None)
        if mark is None:
            continue
        top, bottom = mark.top - 2 * mark.height, mark.bottom + BLOCK_LINES * mark.height
        shift = int(top) - TOP
        words = tuple(replace(w, top=w.top - shift) for w in page.words if top <= w.top <= bottom)
        block = replace(page, words=words, text="")
        sk = skeleton(block)
        split = mark.left - 0.01 * (page.width or mark.page_width)
        low = max((ln.bottom for ln in sk.lines), default=0)
        return replace(sk, col_split=split, header_bottom=float(low)), block, shift
    return None


class _Shifted:
    """A second-look callback (:func:`digitize.document.reocr.make_reocr`) for a block moved ``shift`` pixels up:
    its boxes and words, and the page image it hands out, are moved the same way."""

    def __init__(self, reocr: Any, shift: int) -> None:
        self._reocr, self._shift = reocr, shift
        self.lang, self.timeout = reocr.lang, reocr.timeout

    def __call__(self, page: int, box: tuple[int, int, int, int]) -> Sequence[Word]:
        left, top, right, bottom = box
        words = self._reocr(page, (left, top + self._shift, right, bottom + self._shift))
        return [replace(w, top=w.top - self._shift) for w in words]

    def image_of(self, page: int) -> tuple[np.ndarray, float] | None:
        got = self._reocr.image_of(page)
        if got is None:
            return None
        image, scale = got
        return image[max(0, round(self._shift * scale)):], scale


def shifted_reocr(reocr: Any, shift: int) -> Any:
    """``reocr`` for the cut-out block of :func:`closing_header` (moved ``shift`` pixels up)."""
    return _Shifted(reocr, shift)
