"""Read the digits written by pen into the printed slots "Số:   /QĐ-UBND" and "ngày   tháng   năm 2025".

Given the page image and a slot box (page-result pixels, with the scale from those to image pixels),
the ink in the slot is separated from the paper (the coloured ink alone when the pen was blue),
cut into glyphs (connected components; a component too wide for one digit is split where the
classifier is surest), and each glyph is read by :mod:`digitize.document.handwriting`. A slot whose
ink cannot all be read surely gives None, never a guess with a digit left out.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from digitize.document import handwriting as hw
from digitize.errors import OcrError
from digitize.page import linereader

log = logging.getLogger(__name__)

LineReader = Callable[[np.ndarray], linereader.LineText]

Box = tuple[int, int, int, int]  # left, top, right, bottom
DATE_LEAD = "yàáiìgn"  # the ends of "ngày" and "tháng" a day or month slot's reading may start with
LINE_SURE = 0.95  # the line recogniser's score from which its digits stand without review
LINE_LIKELY = 0.6  # below this its reading is not used
LINE_UNSURE_CONF = 0.6  # the confidence a likely but unsure line reading is given (below the fill's sure mark)


@dataclass(frozen=True)
class Reading:
    """Digits read in a slot, with the classifier's confidence in each."""

    digits: str
    confs: tuple[float, ...]

    @property
    def conf(self) -> float:
        return min(self.confs) if self.confs else 0.0


@dataclass(frozen=True)
class SlotInk:
    """What a slot holds: nothing, or ink glyphs (and a reading when every glyph was read surely)."""

    glyphs: int
    coloured: bool
    reading: Reading | None
    guess: str = ""  # the likeliest digit of each glyph however unsure ("?" for no digit): to check another reading
    guess_conf: float = 0.0  # the least sure digit of the guess
    text: str = ""  # the line recogniser's whole reading of the slot (it may run on into the printed symbol)


def ink_mask(crop: np.ndarray) -> tuple[np.ndarray, bool]:
    """(mask of pen ink, whether it is coloured). Blue/violet ink is taken alone when there is enough of it;
    otherwise every dark pixel (Otsu's cut, never lighter than mid-gray) is ink."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if crop.ndim == 3:
        b, g, r = (crop[..., i].astype(np.int16) for i in range(3))
        blue = (b - r > 35) & (b - g > 5) & (gray < 215)
        if np.count_nonzero(blue) > 0.004 * blue.size:
            blue = cv2.morphologyEx(blue.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((2, 2), np.uint8)) > 0
            return blue, True
    cut, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return gray <= min(cut, 150), False


def _components(mask: np.ndarray, line_h: float) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Ink components big enough to be (part of) a digit: (left, top, right, bottom, mask), left to right.
    Components overlapping horizontally are merged (a "5" written in two strokes)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    parts = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if area < max(6, 0.004 * line_h * line_h) or max(w, h) < 0.25 * line_h:
            continue  # specks, dots of an ellipsis, a colon
        if (w > 3 * line_h and h < 0.35 * line_h) or h > 3.5 * line_h:
            continue  # a printed rule, or a signature stroke crossing the slot
        parts.append([x, y, x + w, y + h, lab == i])
    parts.sort(key=lambda p: p[0])
    merged: list[list] = []
    for p in parts:
        if merged:
            q = merged[-1]
            overlap = min(q[2], p[2]) - max(q[0], p[0])
            hq, hp = q[3] - q[1], p[3] - p[1]
            if overlap > 0.5 * min(q[2] - q[0], p[2] - p[0]) and min(hq, hp) < 0.6 * max(hq, hp):
                merged[-1] = [min(q[0], p[0]), min(q[1], p[1]), max(q[2], p[2]), max(q[3], p[3]), q[4] | p[4]]
                continue
        merged.append(p)
    return [(a, b, c, d, m) for a, b, c, d, m in merged]


def _crop(mask: np.ndarray, left: int, right: int) -> np.ndarray:
    return mask[:, left:right]


def _best(probs: np.ndarray) -> tuple[int, float]:
    """(digit, probability) ignoring "not a digit"; (-1, 0) when the glyph is not a digit."""
    k = int(probs.argmax())
    return (-1, 0.0) if k == hw.OTHER else (k, float(probs[k]))


def _variants(mask: np.ndarray) -> list[np.ndarray]:
    """The glyph and a thinner, a thicker and an upright-sheared copy: their mean vote is steadier."""
    m = mask.astype(np.uint8)
    h, w = m.shape
    k = np.ones((2, 2), np.uint8)
    out = [mask, cv2.dilate(m, k) > 0]
    if min(h, w) > 12:
        out.append(cv2.erode(m, k) > 0)
    pad = int(0.3 * h) + 1
    wide = cv2.copyMakeBorder(m, 0, 0, pad, pad, cv2.BORDER_CONSTANT, value=0)
    for shear in (-0.2, 0.2):
        a = np.float32([[1, shear, -shear * h / 2], [0, 1, 0]])
        out.append(cv2.warpAffine(wide, a, (wide.shape[1], h)) > 0)
    return [v for v in out if v.any()]


def _read_component(mask: np.ndarray, line_h: float, model: hw.Model, depth: int = 0) -> list[tuple[int, float]]:
    """Read one component as one digit, or split it where two or three touching digits read best."""
    ys, xs = np.nonzero(mask)
    mask = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = mask.shape
    whole = _best(hw.classify(_variants(mask), model).mean(axis=0))
    if depth >= 2 or w < 0.7 * h:
        return [whole]
    options: list[list[tuple[int, float]]] = [[whole]]
    cols = mask.sum(axis=0)
    for x in range(int(0.25 * w), int(0.75 * w) + 1, max(1, w // 12)):
        x = x - 2 + int(np.argmin(cols[max(0, x - 2) : x + 3]))  # the thinnest column near x
        left, right = mask[:, :x], mask[:, x:]
        if not left.any() or not right.any():
            continue
        options.append(_read_component(left, line_h, model, depth + 1)
                       + _read_component(right, line_h, model, depth + 1))

    def score(opt: list[tuple[int, float]]) -> float:
        if any(d < 0 for d, _ in opt):
            return 0.0
        return float(np.prod([p for _, p in opt])) ** (1 / len(opt))

    best = max(options, key=score)
    return best if score(best) > 0 else [whole]


def read_slot(image: np.ndarray, box: Box, *, scale: float, line_h: float, model: hw.Model | None = None,
              open_end: bool = False, core: tuple[int, int] | None = None,
              grow_right: bool = True, line_reader: LineReader | None = linereader.read_line) -> SlotInk:
    """Read the pen digits in ``box`` (page-result pixels; ``scale`` maps them to image pixels).
    ``line_h`` is the printed text height on the line (page-result pixels). With ``open_end`` the box
    may run on into the printed symbol: the digits end at the first glyph that is not a digit. With
    ``core`` (top, bottom of the printed row, page pixels) ink centred outside the row (a line above or
    below reaching into the box) is left out."""
    model = model or hw.load_model()
    left, top, right, bottom = (round(v * scale) for v in box)
    ih, iw = image.shape[:2]
    left, top, right, bottom = max(0, left), max(0, top), min(iw, right), min(ih, bottom)
    if right - left < 4 or bottom - top < 4:
        return SlotInk(0, False, None)
    mask, coloured = ink_mask(image[top:bottom, left:right])
    comps = _components(mask, line_h * scale)
    if core is not None:
        lo, hi = core[0] * scale - top, core[1] * scale - top
        comps = [c for c in comps if lo <= (c[1] + c[3]) / 2 <= hi]
    if not comps:
        return SlotInk(0, coloured, None)
    digits: list[tuple[int, float]] = []
    for _l, _t, _r, _b, m in comps:
        read = _read_component(m, line_h * scale, model)
        if open_end and digits and any(d < 0 for d, _ in read):
            break  # the printed "/SYMBOL" starts here
        digits.extend(read)
    if not digits:
        return SlotInk(0, coloured, None)
    guess = "".join(str(d) if d >= 0 else "?" for d, _ in digits)
    least = min(p for _, p in digits)
    box_px = (left, top, right, bottom)
    line = _read_line(image, box_px, comps, line_h * scale, not open_end and grow_right, line_reader)
    if any(d < 0 or p < hw.MIN_DIGIT_CONF for d, p in digits):
        return _with_line(SlotInk(len(digits), coloured, None, guess, least), line)
    return _with_line(SlotInk(len(digits), coloured, Reading(guess, tuple(p for _, p in digits)), guess, least), line)


def _read_line(image: np.ndarray, box: Box, comps: list, line_h: float, grow_right: bool,
               reader: LineReader | None) -> tuple[str, float, str] | None:
    """(digits, score, whole text) the line recogniser reads on the slot's ink: a crop tight around the glyphs kept,
    let out where a glyph touches the slot's edge (a digit glued to a label is cut by the box). A number slot
    (not ``grow_right``) is never let out to the right, where its printed "/" would be read as a 1, and a
    letter before its digits is not taken for a label's end (it may be a misread digit)."""
    if reader is None or not comps:
        return None
    left, top, right, bottom = box
    pad = int(round(0.3 * line_h))
    lo, hi = min(c[0] for c in comps), max(c[2] for c in comps)
    x0 = left + lo - pad if lo <= 1 else max(left, left + lo - pad)
    x1 = left + hi + pad if (grow_right and hi >= right - left - 1) else min(right, left + hi + pad)
    y0 = max(0, top + min(c[1] for c in comps) - pad)
    y1 = min(image.shape[0], top + max(c[3] for c in comps) + pad)
    try:
        got = reader(image[y0:y1, max(0, x0):min(image.shape[1], x1)])
        if got.score < LINE_SURE and (x0 > left or x1 < right):  # the glyphs kept may be a part of the ink:
            wide = reader(image[y0:y1, left:right])  # the whole slot read too, the surer reading kept
            if wide.score > got.score and _digits_of(wide.text, grow_right):
                got = wide
    except OcrError as e:  # the glyph reader still has its say; the field is flagged if it cannot read
        log.warning("pen slot: %s", e)
        return None
    digits = _digits_of(got.text, grow_right)
    log.debug("slot line read %r (%.3f) -> %r", got.text, got.score, digits)
    return (digits, got.score, got.text) if digits else None


def _digits_of(text: str, date: bool) -> str:
    """The digits of a slot's reading: a number slot strips only a label's punctuation, a date slot also
    the letters of "ngày"/"tháng" read along."""
    if not date:
        return linereader.slot_digits(text)
    return linereader.slot_digits(text, linereader.PUNCT + DATE_LEAD, most=5)


def _with_line(ink: SlotInk, line: tuple[str, float, str] | None) -> SlotInk:
    """The slot's reading once the line recogniser has had its say: it reads real hands far better than
    the glyph classifier, so its digits stand; they are sure when it is sure, or when both readers agree."""
    if line is None:
        return ink
    digits, score, text = line
    ink = replace(ink, text=text)
    if digits == ink.guess:
        confs = ink.reading.confs if ink.reading else ()
        return replace(ink, reading=Reading(digits, tuple(max(score, c) for c in confs) or (score,) * len(digits)))
    if score >= LINE_LIKELY:  # sure, or more likely right than not: given below the sure mark (flagged)
        return read_as(ink, digits, line_conf(score))
    return ink


def line_conf(score: float) -> float:
    """The confidence a line recogniser's reading is given: its score when sure, else below the sure mark."""
    return score if score >= LINE_SURE else min(score, LINE_UNSURE_CONF)


def read_as(ink: SlotInk, digits: str, conf: float, text: str | None = None) -> SlotInk:
    """``ink`` read as ``digits``, every one at ``conf`` (``text``: the recogniser's whole reading)."""
    return replace(ink, glyphs=len(digits), reading=Reading(digits, (conf,) * len(digits)), guess=digits,
                   guess_conf=conf, text=ink.text if text is None else text)


def valid_day(day: int, month: int | None, year: int | None) -> bool:
    """A day that exists in the printed month and year (any month's days when the month is unknown)."""
    if month is None or not 1 <= month <= 12:
        return 1 <= day <= 31
    if year is None:
        return 1 <= day <= (29 if month == 2 else calendar.monthrange(2001, month)[1])
    return 1 <= day <= calendar.monthrange(year, month)[1]
