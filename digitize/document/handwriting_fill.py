"""Second look at the number and the issue date where they were filled in by pen.

Works on the fields :mod:`digitize.document.extract` found (duck-typed: ``value``, ``conf``, ``reason``,
``line`` with ``words``) and the first page's words and image. The number slot lies between the
"Số:" label and the printed "/SYMBOL"; the date slots between "ngày" and "tháng" and between "tháng"
and "năm". A slot holding pen ink that cannot be read surely makes the field keep only its printed
part, with a field-level reason, so no number or date goes out with a digit lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from digitize.document import handwriting_slots as slots
from digitize.document.validate import parse_number
from digitize.models import Word
from digitize.page.linereader import read_line
from digitize.text.vntext import fold

log = logging.getLogger(__name__)

NOT_READ_NUMBER = "number: handwritten digits not read"
NOT_READ_DATE = "issued_date: handwritten day not read"
UNSURE_NUMBER = "number: handwritten digits uncertain"
UNSURE_DATE = "issued_date: handwritten day uncertain"
SURE = 0.9  # every digit at least this sure: the reading stands without a review reason
PRINTED_CONF = 85  # Tesseract's confidence in a day token above which it is print, not pen
PRINTED_NUMBER_CONF = 90  # the same for the number's digits (pen digits read by Tesseract reach 89)
# Digits the pen reader cannot read are still Tesseract's to give when it read them at least this surely
# (typed digits of real and generated scans: 72-88; pen digits it misread: 19-57)
PRINT_LIKE_NUMBER_CONF = 70
LINE_MARGINS = (0.6, 0.4)  # bands around a number line's print (in line heights) the line recogniser reads


def _row_words(words: Sequence[Word], anchor: Word) -> list[Word]:
    """Words on the same printed row as ``anchor`` (centre within half its height), left to right."""
    cy, h = anchor.top + anchor.height / 2, max(anchor.height, 1)
    return sorted((w for w in words if abs(w.top + w.height / 2 - cy) < 0.6 * h), key=lambda w: w.left)


def _core(row: Sequence[Word]) -> tuple[int, int]:
    """Top and bottom of the printed words of a row (medians: a word swollen by pen ink does not count)."""
    return int(np.median([w.top for w in row])), int(np.median([w.top + w.height for w in row]))


def _band(row: Sequence[Word], h: float) -> tuple[int, int]:
    top = min(w.top for w in row)
    bottom = max(w.top + w.height for w in row)
    return int(top - 0.7 * h), int(bottom + 0.5 * h)


def _label_word(line_words: Sequence[Word]) -> tuple[Word, int] | None:
    """The "Số:" word and where its label ends (x): a glued "Số:465" ends after the colon's share."""
    words = [w for w in line_words if re.search(r"[^\W\d_]{2,}", w.text)]
    if len(words) > 2 and not any("/" in w.text for w in line_words):
        return None  # a heading ("SỞ NỘI VỤ"), not a number line
    for w in line_words[:2]:
        f = fold(w.text)
        m = re.match(r"^\W{0,2}(s\s?[oe06]\s*[:;.,]?|s[a%]\s*:)", f)  # "Số:", also read "Sô", "S6", "Sá:", "S%:"
        if m and not ("ở" in w.text.lower() and ":" not in w.text):
            rest = len(f) - m.end()
            end = w.left + w.width if rest <= 0 else w.left + round(w.width * m.end() / max(len(f), 1))
            others = [o.height for o in line_words if o is not w]
            ref = min(w.height, float(np.median(others))) if others else w.height
            if rest <= 0 and w.width > 2.2 * ref:  # the label's box took in the pen's digits
                end = w.left + round(1.5 * ref)
            return w, end
    return None


@dataclass(frozen=True)
class NumberSlot:
    """Where the pen digits of a "Số:" line are, what Tesseract read there, and the printed "/SYMBOL"."""

    box: slots.Box
    typed: str  # digits Tesseract read in the slot
    printed: str  # "/QĐ-UBND" ("" when the symbol was not read)
    line_h: float
    open_end: bool  # the box runs on into the printed symbol (its start is not known)
    typed_conf: float = 0.0  # Tesseract's least confidence (0-100) in the words that gave ``typed``
    core: tuple[int, int] = (0, 0)  # top and bottom of the printed row
    right: int = 0  # where the number line ends (the printed symbol's end, or the column's)


def slash_x(image: np.ndarray, scale: float, word: Word, *, lang: str, timeout: float) -> int | None:
    """x (page pixels) where the "/" of a word glued to its digits ("4/QĐ-UBND") starts: the first slash a
    letter follows, else the first, from Tesseract's character boxes of the word's crop (read with the run's
    ``lang`` and ``timeout``); None when no slash is found."""
    import pytesseract

    pad = max(2, word.height // 4)
    left, top = max(0, round((word.left - pad) * scale)), max(0, round((word.top - pad) * scale))
    right, bottom = round((word.left + word.width + pad) * scale), round((word.top + word.height + pad) * scale)
    crop = image[top:bottom, left:right]
    if crop.size == 0:
        return None
    try:
        boxes = pytesseract.image_to_boxes(crop, lang=lang, config="--psm 7", timeout=timeout)
    except (pytesseract.TesseractError, RuntimeError) as e:
        log.warning("character boxes of the number not read: %s", e)
        return None
    chars = [(parts[0], int(parts[1])) for row in boxes.splitlines() if len(parts := row.split(" ")) >= 5]
    slashes = [i for i, (ch, _x) in enumerate(chars) if ch == "/"]
    # the printed symbol's slash is the one a letter follows ("/53/UBND-": a pen stroke read as a slash first)
    before_letter = [i for i in slashes if i + 1 < len(chars) and chars[i + 1][0].isalpha()]
    if before_letter or slashes:
        return round((left + chars[(before_letter or slashes)[0]][1]) / scale)
    return None


# a symbol read apart from its slash: upper-case parts joined by dashes ("CI-CS", "KH-UBND")
_SYMBOL_APART = re.compile(r"[A-ZĐ][A-ZĐa-z0-9]{0,9}(?:-[A-ZĐ][A-ZĐa-z0-9]{0,9})+[.,;:]?")


def number_slot(line_words: Sequence[Word], page_words: Sequence[Word], col_right: float,
                more_words: Callable[[slots.Box], Sequence[Word]] | None = None,
                find_slash: Callable[[Word], int | None] | None = None) -> NumberSlot | None:
    """The pen slot of a "Số:" line. ``more_words(box)``, when given, reads the row again where the
    symbol was not read; ``find_slash(word)`` finds where the printed part of a glued word starts."""
    found = _label_word(line_words)
    if found is None:
        return None
    label, start = found
    h = float(label.height)
    row = [w for w in _row_words(page_words, label) if w.left >= label.left and w.left < col_right]
    top, bottom = _band(row or [label], h)
    after = [w for w in row if w is not label]
    # the printed "/SYMBOL": a slash followed by a letter ("6/0" is pen digits read with a slash in them)
    symbol = next((w for w in after if re.search(r"/\s*[^\W\d_]", w.text)), None) or \
        next((w for w in after if "/" in w.text), None)
    if symbol is None and more_words is not None:
        again = [w for w in more_words((int(start), top, int(col_right), bottom)) if w.left > start]
        symbol = next((w for w in sorted(again, key=lambda w: w.left) if "/" in w.text), None)
    typed, open_end = "", False
    sources: list[Word] = []
    if symbol is not None and not re.search(r"/\s*[^\W\d_]", symbol.text):
        # "2/8." then "CI-CS": the pen's digits read with a slash in them, the printed symbol apart after them
        # (its own slash lost): the slot runs on to that word
        apart = next((w for w in after if w.left > symbol.left and _SYMBOL_APART.fullmatch(w.text)), None)
        if apart is not None:
            return NumberSlot((int(start + 0.1 * h), top, int(apart.left), bottom),
                              re.sub(r"\D", "", "".join(w.text for w in after if w.left < apart.left)),
                              "/" + apart.text.strip(".,;:"), h, False,
                              min((w.conf for w in after if w.left < apart.left), default=0.0),
                              _core(row or [label]), apart.left + apart.width)
    if symbol is not None:
        at = re.search(r"/(?=\s*[^\W\d_])", symbol.text)  # the slash a letter follows: "/53/UBND-"
        head, tail = (symbol.text[:at.start()], symbol.text[at.end():]) if at else symbol.text.partition("/")[::2]
        printed = "/" + tail
        if head.strip():  # digits glued before "/": the printed part starts at the slash
            x = find_slash(symbol) if find_slash is not None else None
            if x is not None and x <= max(start, symbol.left) + 0.5 * h and len(head) > 1:
                # the slash found is a pen stroke in front of the digits ("/53/UBND-"): the printed slash is
                # where the word's characters put it
                x = symbol.left + round(symbol.width * len(head) / len(symbol.text))
            end, typed, open_end = (symbol.left + symbol.width, head, True) if x is None else (x, head, False)
            sources.append(symbol)
        else:
            end = symbol.left
        typed = "".join(w.text for w in after if w.left < symbol.left) + typed
        sources += [w for w in after if w.left < symbol.left]
    else:  # only the label was read: the slot runs on to the column's end
        printed, open_end = "", True
        end = int(min(col_right, label.left + 12 * h))
    if start < label.left + label.width:  # glued label ("Số:465"): its digits are Tesseract's reading
        typed = re.sub(r"^\W{0,2}\w{1,2}\s*[:;.,]?", "", label.text) + typed
        sources.append(label)
    box = (int(start + 0.1 * h), top, int(end), bottom)
    if box[2] - box[0] <= 0.4 * h:
        return None
    conf = min((w.conf for w in sources), default=0.0)
    right = symbol.left + symbol.width if symbol is not None else int(min(col_right, label.left + 12 * h))
    return NumberSlot(box, re.sub(r"\D", "", typed), printed, h, open_end, conf, _core(row or [label]), right)


def _whole_line(ink: slots.SlotInk, image: np.ndarray, scale: float, slot: NumberSlot,
                reader: Callable[[np.ndarray], Any] | None = None) -> slots.SlotInk:
    """The slot's ink once the line recogniser has read the whole number line after the label, digits
    and printed symbol together ("2668/KH-UBND"): where the slot's box was misplaced (a slash found among
    the pen strokes) or its glyphs were cut, the line as a whole still reads. Its reading replaces an
    unsure one of the slot when it is surer, and agrees with the printed symbol."""
    h = slot.line_h
    left, right = round(slot.box[0] * scale), round((slot.right + 0.3 * h) * scale)
    best: tuple[Any, Any] | None = None
    for margin in LINE_MARGINS:  # the recogniser wants the line alone: a tighter band drops strokes above
        top, bottom = round((slot.core[0] - margin * h) * scale), round((slot.core[1] + margin * h) * scale)
        if right - left < 8 or bottom - top < 8:
            return ink
        got = (reader or read_line)(image[max(0, top):bottom, max(0, left):right])
        parsed = parse_number(re.sub(r"^[^\w/]+", "", got.text))
        if parsed is not None and parsed.number and parsed.symbol and (best is None or got.score > best[0].score):
            best = got, parsed
    if best is None:
        return ink
    got, parsed = best
    if slot.printed and fold(slot.printed.split("-")[0]).upper().lstrip("/")[:2] != fold(parsed.symbol[0]).upper()[:2]:
        return ink  # the reading's symbol is not the printed one: it read something else
    current = ink.reading.conf if ink.reading is not None else 0.0
    digits = parsed.number
    # a sure slot reading stands, unless the whole line shows it cut short (its digits inside longer ones)
    cut_short = ink.reading is not None and ink.reading.digits != digits and ink.reading.digits in digits
    if got.score <= current and not (cut_short and got.score >= slots.LINE_SURE):
        return ink
    log.debug("number line read whole: %d digits (%.3f)", len(digits), got.score)
    if cut_short:  # the two readings disagree: proposed, flagged
        return slots.read_as(ink, digits, min(got.score, slots.LINE_UNSURE_CONF), got.text)
    return slots.read_as(ink, digits, slots.line_conf(got.score), got.text)


def recheck_number(found: Any, image: np.ndarray | None, scale: float, page_words: Sequence[Word],
                   col_right: float, more_words: Callable[[slots.Box], Sequence[Word]] | None = None, *,
                   lang: str, timeout: float) -> Any:
    """The number field after reading its pen-filled slot (``found`` unchanged when there is no slot);
    ``lang``, ``timeout``: the run's OCR settings, for the character boxes of the printed symbol."""
    if image is None or found.line is None or found.line.page != 0:
        return found
    slot = number_slot(found.line.words, page_words, col_right, more_words,
                       lambda w: slash_x(image, scale, w, lang=lang, timeout=timeout))
    if slot is None:
        return found
    if (slot.typed and slot.typed_conf >= PRINTED_NUMBER_CONF and found.value
            and re.sub(r"\D", "", found.value.split("/")[0]) == slot.typed):
        return found  # the digits are print Tesseract is sure of: no pen to read
    ink = slots.read_slot(image, slot.box, scale=scale, line_h=slot.line_h, open_end=slot.open_end, core=slot.core,
                         grow_right=False)
    if ink.glyphs == 0:
        return found
    ink = _whole_line(ink, image, scale, slot)
    typed, reading = slot.typed, ink.reading
    sym = slot.printed or ("/" + found.value.split("/", 1)[1] if found.value and "/" in found.value else "")
    row = [w for w in _row_words(page_words, found.line.words[0]) if w.left < col_right] if found.line.words else []
    sym = _complete(sym, row)
    if reading is not None and found.value and reading.digits == typed:
        return replace(found, conf=max(found.conf, reading.conf))
    if reading is not None and typed and len(reading.digits) < len(typed):
        return replace(found, conf=min(found.conf, 0.5), reason=UNSURE_NUMBER)  # fewer glyphs than Tesseract read
    if reading is not None and sym and (reading.conf >= SURE or len(reading.digits) != len(typed)):
        sure = reading.conf >= SURE and not (typed and len(typed) == len(reading.digits))
        reason = None if sure else UNSURE_NUMBER
        log.debug("number slot read %s (typed %r)", reading.digits, typed)
        return replace(found, value=reading.digits + _normal(sym), conf=reading.conf, reason=reason)
    if reading is not None and not sym and ink.text:
        # the symbol was not read as print, but the line recogniser read it with the digits: proposed, flagged
        parsed = parse_number(re.sub(r"^\W+", "", ink.text))
        if parsed is not None and parsed.text.startswith(reading.digits + "/"):
            tail = _printed_spelling(parsed.text.split("/", 1)[1], row)
            value = (parse_number(f"{reading.digits}/{tail}") or parsed).text
            return replace(found, value=value, conf=min(reading.conf, 0.6), reason=UNSURE_NUMBER)
    if found.value and typed and len(typed) == ink.glyphs:
        if reading is None and ink.guess == typed:
            return found  # the pen reader, unsure, still agrees with Tesseract's reading: it stands
        if reading is None and "?" not in ink.guess and ink.guess_conf >= 0.5 and sym:
            # the two disagree; the pen reader's more-likely-than-not digits go to the clerk, flagged
            return replace(found, value=ink.guess + _normal(sym), conf=0.5, reason=UNSURE_NUMBER)
        return replace(found, conf=min(found.conf, 0.5), reason=UNSURE_NUMBER)
    if found.value and typed and ink.glyphs < len(typed):
        return replace(found, conf=min(found.conf, 0.5), reason=UNSURE_NUMBER)  # print run together: no digit lost
    if found.value and (not typed or slot.typed_conf >= PRINT_LIKE_NUMBER_CONF):
        # Tesseract read the digits as print (or the slot shows none of its own): the pen reader, unable to
        # read the ink, has nothing to say against them
        return found
    return replace(found, value=_normal(sym) or None, conf=0.0, reason=NOT_READ_NUMBER)


def _printed_spelling(symbol: str, line_words: Sequence[Word]) -> str:
    """The symbol as Tesseract spelt it on the number line ("BĐH", "CT-CS") when a word there is the line
    recogniser's reading of it (which knows no Vietnamese letters, and may stop short at the crop's end)."""
    key = fold(symbol).upper()
    spelt = [t for w in line_words if len(t := w.text.strip(".,;:/-")) >= len(key)
             and re.fullmatch(r"[^\W\d_][\w-]*", t) and fold(t).upper().startswith(key)]
    return _complete(max(spelt, key=len, default=symbol), line_words)


def _complete(symbol: str, row: Sequence[Word]) -> str:
    """A symbol whose reading stopped at a dash ("/UBND-") ends with the row's last upper-case word, read
    apart ("KSTTHC")."""
    if not symbol.endswith("-"):
        return symbol
    last = [t for w in row if re.fullmatch(r"[A-ZĐ][A-ZĐa-z0-9]{1,9}", t := w.text.strip(".,;:"))]
    if last and fold(last[-1]).upper() not in fold(symbol).upper():
        return symbol + last[-1]
    return symbol


def _normal(printed: str) -> str:
    """The printed "/SYMBOL" spelt as the number parser spells it ("/QĐÐ-UBND" -> "/QĐ-UBND")."""
    parsed = parse_number("1" + printed) if printed else None
    return parsed.text[1:] if parsed is not None and parsed.text.startswith("1/") else printed


_YEAR = re.compile(r"(19|20)\d\d")
# the widest a printed date label is, in text heights (measured ~2.1, 2.5 and 2.0 on real scans, serif and italic)
LABEL_WIDTH = {"ngay": 2.5, "thang": 2.9, "nam": 2.4}


def _cut_at(w: Word, folded: str, i: int) -> int:
    """x where character ``i`` of a word starts (by the share of characters: glued words)."""
    return w.left + round(w.width * i / max(len(folded), 1))


def date_slots(words: Sequence[Word]) -> dict[str, Any] | None:
    """Boxes of the day and month slots on a "…, ngày … tháng … năm yyyy" row, the printed month and year.
    Words glued to the labels ("ngày30", "2¿tháng") are cut by their share of characters."""
    ngay = thang = nam = None
    label_lost = False  # "ngày" itself not read (merged with the pen's digits): the slot starts after the place
    for i, w in enumerate(words):
        f = fold(w.text)
        if ngay is None and re.match(r"^nga", f):
            ngay = (i, _cut_at(w, f, 4) if len(f) > 5 else w.left + w.width)
        elif ngay is None and i > 0 and f.startswith("thang") and words[i - 1].text.endswith(","):
            ngay, label_lost = (i - 1, words[i - 1].left + words[i - 1].width), True
            thang = (i, w.left, _cut_at(w, f, 5) if len(f) > 5 else w.left + w.width)
        elif ngay is not None and thang is None and (k := f.find("thang")) >= 0:
            thang = (i, _cut_at(w, f, k), _cut_at(w, f, k + 5) if len(f) > k + 5 else w.left + w.width)
        elif thang is not None and nam is None and re.match(r"^n[aă]m\W*$", f):
            nam = (i, w.left, w.left + w.width)
    if ngay is None or thang is None or nam is None:
        return None
    rest = "".join(w.text for w in words[nam[0] + 1 : nam[0] + 2])
    m = _YEAR.search(rest)
    if m is None:
        return None
    h = float(np.median([w.height for w in (words[ngay[0]], words[thang[0]], words[nam[0]])]))
    top, bottom = _band(words, h)
    month_words = words[thang[0] + 1 : nam[0]]
    month_txt = "".join(w.text for w in month_words)
    month = int(month_txt) if re.fullmatch(r"\d{1,2}", month_txt) else None
    month_conf = min((w.conf for w in month_words), default=0) / 100
    day_words = list(words[ngay[0] + 1 : thang[0]])
    glued = re.match(r"^(\d{1,2})th", words[thang[0]].text)
    if glued and not day_words:  # "26tháng": the day glued to the label
        day_words = [replace(words[thang[0]], text=glued.group(1))]
    printed = len(day_words) == 1 and re.fullmatch(r"\d{1,2}", day_words[0].text) and day_words[0].conf >= PRINTED_CONF
    # a label's box may have swallowed the pen's digits beside it: no label is wider than its print
    wn, wt = words[ngay[0]], words[thang[0]]
    day_start = (min(ngay[1], wn.left + round(LABEL_WIDTH["ngay"] * h))
                 if ngay[1] == wn.left + wn.width and not label_lost else ngay[1])
    month_start = (min(thang[2], wt.left + round(LABEL_WIDTH["thang"] * h))
                   if thang[2] == wt.left + wt.width else thang[2])
    month_end = max(nam[1], nam[2] - round(LABEL_WIDTH["nam"] * h))
    year_word = words[nam[0] + 1]
    printed_words = (words[thang[0]], words[nam[0]], year_word)
    core = (min(w.top for w in printed_words), max(w.top + w.height for w in printed_words))
    return {"line": (words[0].left, core[0], year_word.left + year_word.width, core[1]),
            "day": (int(day_start + 0.1 * h), top, thang[1], bottom),
            "month": (int(month_start + 0.1 * h), top, month_end, bottom), "h": h, "year": int(m.group()),
            "month_typed": month if month and 1 <= month <= 12 and month_conf >= 0.6 else None,
            "day_typed": "".join(w.text for w in day_words), "day_printed": day_words[0].text if printed else None}


def _date_rows(header_lines: Sequence[Any], page_words: Sequence[Word], left: float) -> list[list[Word]]:
    """The header's rows holding "ngày" (the whole row: a wide blank can cut it into two line segments)."""
    rows = []
    for ln in header_lines:
        if ln.page != 0:
            continue
        anchor = next((w for w in ln.words if re.match(r"^nga", fold(w.text))), None)
        if anchor is None and re.search(r"\bthang\b.*\bnam\b", ln.fold):  # "ngày" lost with the pen's digits
            anchor = next((w for w in ln.words if fold(w.text).startswith(("thang", "nam"))), None)
        if anchor is not None:
            rows.append([w for w in _row_words(page_words, anchor) if w.left >= left])
    return rows


# "ngày 07 tháng 12 năm 2011" as the line recogniser reads it, folded ("ngay 07thang 12 nam 2011")
_DATE_LINE = re.compile(r"ng\w{0,3}\W{0,2}(\d{1,2})\W{0,2}t?h?\w{0,4}\W{0,2}(\d{1,2})\W{0,2}"
                        r"n\w{0,2}\W{0,2}((?:19|20)\d\d)")


def _whole_date(ink: slots.SlotInk, image: np.ndarray, scale: float, info: dict[str, Any], month: int | None,
                reader: Callable[[np.ndarray], Any] | None = None) -> slots.SlotInk:
    """The day slot's ink once the line recogniser has read the whole "ngày … tháng … năm yyyy" row: a pen's
    digits that run into the printed labels ("07" whose 7 crosses "tháng") are cut by the slot's box but read
    whole on the row. Used when its month and year are the printed ones and the day exists; its reading
    replaces an unsure or cut-short one of the slot."""
    h = info["h"]
    left, top, right, bottom = info["line"]
    crop = image[max(0, round((top - 0.4 * h) * scale)):round((bottom + 0.4 * h) * scale),
                 max(0, round((left - 0.3 * h) * scale)):round((right + 0.3 * h) * scale)]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return ink
    got = (reader or read_line)(crop)
    m = _DATE_LINE.search(fold(got.text))
    if m is None or int(m.group(3)) != info["year"] or (month is not None and int(m.group(2)) != month):
        return ink
    digits = m.group(1)
    if not slots.valid_day(int(digits), int(m.group(2)), info["year"]) or got.score < slots.LINE_LIKELY:
        return ink
    current = ink.reading
    if current is not None and current.digits.lstrip("0") == digits.lstrip("0"):
        return slots.read_as(ink, current.digits, max(current.conf, got.score), got.text)  # the two readers agree
    if current is None:
        log.debug("date row read whole: day of %d digits (%.3f)", len(digits), got.score)
        return slots.read_as(ink, digits, slots.line_conf(got.score), got.text)
    if len(current.digits) < len(digits) and current.digits in digits and got.score >= slots.LINE_SURE:
        # the slot's reading cut short (its digits inside the row's): proposed, flagged
        return slots.read_as(ink, digits, min(got.score, slots.LINE_UNSURE_CONF), got.text)
    return ink  # the two disagree otherwise: the slot's own reading stands


def recheck_date(found: Any, image: np.ndarray | None, scale: float, rows: Sequence[Sequence[Word]]) -> Any:
    """The issue date after reading the pen-filled day (and month) of the header's date row."""
    if image is None:
        return found
    for row in rows:
        info = date_slots(row)
        if info is None:
            continue
        year, h = info["year"], info["h"]
        if info["day_printed"] and found.value and found.value.endswith(f"-{int(info['day_printed']):02d}"):
            return found  # the day is printed (Tesseract reads it surely): no pen to read
        month = info["month_typed"]
        month_read = month is None
        if month_read:  # the month's print was not read: it is read from the ink, and the date is flagged
            ink = slots.read_slot(image, info["month"], scale=scale, line_h=h).reading
            month = int(ink.digits) if ink is not None and 1 <= int(ink.digits) <= 12 else None
        day_ink = slots.read_slot(image, info["day"], scale=scale, line_h=h)
        blank = day_ink.glyphs == 0
        day_ink = _whole_date(day_ink, image, scale, info, None if month_read else month)
        if blank and day_ink.reading is not None:  # the row shows a day the slot's box missed: proposed, flagged
            day_ink = slots.read_as(day_ink, day_ink.reading.digits, min(day_ink.reading.conf, slots.LINE_UNSURE_CONF))
        log.debug("date slots: month %s (%s), day %r / guess %r (typed %r)", month,
                  "read" if month_read else "printed", day_ink.reading, day_ink.guess, info["day_typed"])
        if day_ink.glyphs == 0:
            return found
        r = day_ink.reading
        if r is not None and month is not None and slots.valid_day(int(r.digits), month, year) and len(r.digits) <= 2:
            value = dt.date(year, month, int(r.digits)).isoformat()
            if value == found.value:
                return replace(found, conf=max(found.conf, r.conf))
            typed = re.sub(r"\D", "", info["day_typed"])
            if r.conf < SURE or month_read or (typed and typed.lstrip("0") != r.digits.lstrip("0")):
                # unsure, or Tesseract read another day there: a clerk decides
                return replace(found, value=value, conf=min(r.conf, 0.5), reason=UNSURE_DATE)
            return replace(found, value=value, conf=r.conf, reason=None)
        if found.value and day_ink.guess.isdigit() and found.value.endswith(f"-{int(day_ink.guess):02d}"):
            return found  # the pen reader, unsure, still agrees with Tesseract's day
        g = day_ink.guess
        if (g.isdigit() and len(g) <= 2 and day_ink.guess_conf >= 0.5 and month is not None
                and slots.valid_day(int(g), month, year)):
            # more likely than not, and a day of the printed month: proposed to the clerk, flagged
            return replace(found, value=dt.date(year, month, int(g)).isoformat(), conf=0.5, reason=UNSURE_DATE)
        typed_day = info["day_typed"]
        if found.value and typed_day.isdigit() and found.value.endswith(f"-{int(typed_day):02d}"):
            return found  # Tesseract read clean digits for the day and they make the date: they stand
        return replace(found, value=None, conf=0.0, reason=NOT_READ_DATE)
    return found


def recheck(number: Any, date: Any, reocr: Any, page: Any, sk: Any) -> tuple[Any, Any]:
    """Number and issue date after a look at their pen-filled slots on the first page.

    ``reocr``: the extraction's second-look callback, with ``image_of(page)`` giving the stored page
    image and its pixels per page-result pixel, and the run's OCR ``lang`` and ``timeout``; ``page``: the
    first PageResult; ``sk``: its skeleton.
    A number not found because only its "Số:" label was read is looked for on the label's line."""
    image_scale = reocr.image_of(page.page)
    if image_scale is None:
        return number, date
    image, scale = image_scale
    if number.line is None:
        label_line = next((ln for ln in sk.lines if ln.cx < sk.col_split and ln.top < sk.header_bottom
                           and _label_word(ln.words) is not None), None)
        if label_line is not None:
            number = replace(number, line=label_line)
    more = (lambda box: reocr(page.page, box))  # noqa: E731
    number = recheck_number(number, image, scale, page.words, sk.col_split, more, lang=reocr.lang,
                            timeout=reocr.timeout)
    width = sk.width or page.width
    header = [ln for ln in sk.lines if ln.top < sk.header_bottom + 2 * ln.height
              and ln.left >= sk.col_split - 0.05 * width]
    rows = _date_rows(header, page.words, sk.col_split - 0.05 * width)
    return number, recheck_date(date, image, scale, rows)
