"""The start of a signer's name lost under the signature, read again by the line recogniser.

The signature's strokes usually cross the first word of the name under it: Tesseract then reads
"Văn Diệu" for "Nguyễn Văn Diệu". PP-OCR's line recogniser (:mod:`digitize.page.linereader`) reads
through the strokes but knows no Vietnamese diacritics ("Nguyen Van Dieu"). Where its reading ends with
the words Tesseract read, the words before them are the lost start of the name, taken only when each
stands for one known surname or name syllable ("Nguyen" -> "Nguyễn"); the field is then flagged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from digitize.document.lines import _Found
from digitize.page.linereader import LineText, read_line
from digitize.text.vntext import NAME_SYLLABLES, SURNAMES, canonical, fold

log = logging.getLogger(__name__)

RESTORED = "signer: start of the name read through the signature, without diacritics: check it"
MIN_SCORE = 0.85  # the line recogniser's least confidence in a reading used here
AGREE_SCORE = 0.6  # ... and where it agrees with Tesseract but for one letter of the first word
_INCOMPLETE = ("signer: start of the name unreadable", "signer: only two words read")
_NO_SURNAME = "is not a known surname"  # "Văn Diệu": the first word read is a middle name
_SURNAMES_BARE: dict[str, set[str]] = {}
_SYLLABLES_BARE: dict[str, set[str]] = {}


def _bare(word: str) -> str:
    """A word without any mark, lower case (the recogniser may put a macron where Vietnamese has a hook)."""
    return "".join(c for c in unicodedata.normalize("NFD", fold(word)) if not unicodedata.combining(c))


for _s in SURNAMES:
    _SURNAMES_BARE.setdefault(_bare(_s), set()).add(_s)
for _s in NAME_SYLLABLES | SURNAMES:
    _SYLLABLES_BARE.setdefault(_bare(_s), set()).add(_s)


def _close(read: str, printed: str) -> bool:
    """``read`` is ``printed`` without its marks, or with one letter dropped (the recogniser drops the
    letters its alphabet lacks, "Nguyễn" -> "Nguyn"): from four letters on."""
    a, b = _bare(read), _bare(printed)
    return a == b or (len(b) >= 4 and Levenshtein.distance(a, b) <= 1 and len(a) == len(b) - 1)


def _name_part(word: str, table: dict[str, set[str]]) -> str | None:
    """The one name word of ``table`` that ``word`` (read without diacritics) stands for, or None."""
    exact = table.get(_bare(word), set())
    cands = exact or {s for key, names in table.items() if _close(word, key) for s in names}
    return next(iter(cands)) if len(cands) == 1 else None


def lost_start(read: str, kept: Sequence[str]) -> list[str] | None:
    """The name words before ``kept`` (Tesseract's words) in the recogniser's ``read``, as spelt in
    Vietnamese; None when ``read`` does not end with ``kept`` or a word before them is no name part."""
    tokens = [t for t in re.split(r"[\s.,;:]+", read) if t]
    n = len(kept)
    if len(tokens) <= n or not all(_close(t, k) for t, k in zip(tokens[-n:], kept, strict=True)):
        return None
    before = tokens[:-n][-2:]  # a surname and at most one middle syllable
    while before and _name_part(before[0], _SURNAMES_BARE) is None:
        before = before[1:]  # a stray mark or a word of the position line read along
    if not before:
        return None
    parts = [_name_part(w, _SURNAMES_BARE if i == 0 else _SYLLABLES_BARE) for i, w in enumerate(before)]
    return None if any(p is None for p in parts) else [p for p in parts if p]


def _surname_in_place(read: str, kept: Sequence[str]) -> list[str] | None:
    """``kept`` with its first word (no surname: "Tân Văn Lộc") replaced by the surname the recogniser read in
    its place ("Tran Văn Le" -> "Trần"), when that is one surname and one letter from the word Tesseract read;
    None otherwise."""
    tokens = [t for t in re.split(r"[\s.,;:]+", read) if t]
    if len(tokens) != len(kept) or len(kept) < 2:
        return None
    names = _SURNAMES_BARE.get(_bare(tokens[0]), set())
    if len(names) != 1:
        return None
    surname = next(iter(names))
    if Levenshtein.distance(_bare(kept[0]), _bare(surname)) != 1:
        return None
    return [surname, *kept[1:]]


def restore_surname(found: _Found, image_of: Callable[[int], Any], page_numbers: Sequence[int],
                    reader: Callable[[np.ndarray], LineText] = read_line) -> _Found:
    """``found`` with the lost start of its name restored (flagged), or unchanged.

    ``image_of(page)`` gives a stored page image and its pixels per page-result pixel; ``page_numbers``
    maps the line's page index in the document to its page number."""
    ln = found.line
    reason = found.reason or ""
    if not found.value or ln is None or not (reason.startswith(_INCOMPLETE) or reason.endswith(_NO_SURNAME)):
        return found
    got = image_of(page_numbers[ln.page]) if 0 <= ln.page < len(page_numbers) else None
    if got is None:
        return found
    image, scale = got
    h = ln.bottom - ln.top
    left, right = round((ln.left - 6 * h) * scale), round((ln.right + h) * scale)
    top, bottom = round((ln.top - 0.4 * h) * scale), round((ln.bottom + 0.4 * h) * scale)
    read = reader(image[max(0, top):bottom, max(0, left):right])
    kept = found.value.split()
    if reason.endswith(_NO_SURNAME) and read.score >= AGREE_SCORE:
        swapped = _surname_in_place(read.text, kept)
        if swapped is not None:
            log.debug("signer's first word read again as a surname one letter from it")
            return replace(found, value=canonical(" ".join(swapped)), conf=min(found.conf, 0.6), reason=RESTORED)
    if read.score < MIN_SCORE:
        return found
    start = lost_start(read.text, kept)
    if not start and reason.endswith(_NO_SURNAME) and len(kept) >= 3:  # the first word read is no surname:
        start, kept = lost_start(read.text, kept[1:]), kept[1:]  # the recogniser's word in its place
    log.debug("signer line read again: %d words before the %d read", len(start or []), len(kept))
    if not start:
        return found
    return replace(found, value=canonical(" ".join(start + kept)), conf=min(found.conf, 0.6), reason=RESTORED)
