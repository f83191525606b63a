"""The signer's name and position from the signature block, and the second look at that block."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from digitize.document.issuer import _ORG_HEADS, _UNITS, _starts_with
from digitize.document.lines import RECIPIENTS, Line, _Found, build_lines
from digitize.models import PageResult, Word
from digitize.text.vntext import (
    SURNAMES,
    canonical,
    capitalize_first,
    fold,
    is_name_syllable,
    is_upper_text,
    repair_surname,
    surname_from_tail,
)

SURNAME_COMPLETED = "signer: the surname's first letters lost under the signature, completed from its end: check it"

_AUTHORITY = re.compile(r"^(tm|kt|q|tl|tuq|t/m|k/t)\s*[.,:]\s*")
_POSITIONS = (
    "chu tich", "pho chu tich", "truong phong", "pho truong phong", "giam doc", "pho giam doc", "chanh van phong",
    "pho chanh van phong", "truong ban", "pho truong ban", "cuc truong", "pho cuc truong", "chi cuc truong",
    "pho chi cuc truong", "thu truong", "bo truong", "chanh thanh tra", "pho chanh thanh tra", "truong tram",
    "cong chuc", "nguoi ky", "truong", "hieu truong", "pho hieu truong", "bi thu", "pho bi thu", "ke toan truong",
    "chu nhiem", "pho chu nhiem", "uy vien", "vu truong", "pho vu truong", "truong khoa", "doi truong",
    "pho doi truong", "chanh an", "vien truong", "thu ky", "chuyen vien",
)
_POSITION_WORDS = re.compile(r"(^\W*(pho|pfho|kt|tm|tl|tp|khu|kcn|kkt|ccn|dai dien)\b|^\W*van phong\b"
                             r"|\bthu tuong\b|\bthuong truc\b"
                             r"|\bbao cao\b|\btruong ban\b|\bbo phan\b"
                             r"|^\W*(quyet dinh|nghi dinh|nghi quyet|thong tu|thong bao|ke hoach|cong van|to trinh)\b)")
# military and police ranks and academic titles printed before a signer's name
_RANK = re.compile(r"^(thieu|trung|thuong|dai) (ta|uy|tuong)\b|^(pgs|gs|ts|ths)\b\.?(\s?ts\b\.?)?")
_NOT_NAME = re.compile(r"(noi nhan|luu|ky boi|thoi gian|email|co quan|ngay|chu ky|dau|\d|:|/|\(|\))")


def _is_position_line(ln: Line) -> bool:
    f = _AUTHORITY.sub("", ln.fold)
    if _AUTHORITY.match(ln.fold):
        return True
    return bool(_starts_with(f, _POSITIONS)) and is_upper_text(ln.text, threshold=0.6)


def _name_words(ln: Line) -> list[str] | None:
    """The words of a signer-name line ("Phạm Xuân Công Tùng"), stray marks in front dropped; None
    when the line does not look like a personal name."""
    first = ln.text.split()[0].strip(".,;:") if ln.text.split() else ""
    surname_first = capitalize_first(canonical(first)) in SURNAMES  # "Trương" (a surname) folds like "Trường"
    if _NOT_NAME.search(ln.fold) or _is_position_line(ln) or (
            not surname_first and _starts_with(ln.fold, _ORG_HEADS + _UNITS)):
        return None
    if any(p in ln.fold for p in ("chu tich", "truong phong", "giam doc", "pho chu", "pho truong", "pho giam")):
        return None
    if _POSITION_WORDS.search(ln.fold):  # "Phó Văn phòng", "KT. Thủ tướng", "Trưởng ban": a title, not a name
        return None
    words = [re.sub(r"^\W+|\W+$", "", w) for w in ln.text.split()]
    words = [w for w in words if w]
    rank = _RANK.match(fold(" ".join(words)))
    if rank:  # "Trung tá Ngô Văn Công": the signer's rank is not part of the name
        words = words[len(rank.group(0).split()):]
    dropped: list[str] = []
    while words and (not (words[0][:1].isupper() and words[0].isalpha()) or len(words[0]) == 1):
        w = words.pop(0)
        if sum(ch.isalpha() for ch in w) >= 2:
            dropped.append("?" + w)
    if not 2 <= len(words) <= 6 or not all(w[:1].isupper() and w.isalpha() for w in words):
        return None
    if any(len(w) > 7 for w in words):
        return None
    return dropped + words  # the words dropped in front (stray strokes, a damaged surname) marked with "?"


def _looks_like_name(ln: Line) -> bool:
    return _name_words(ln) is not None


def _signer_found(ln: Line) -> _Found:
    """The signer's name from its line, checked against Vietnamese surnames and name syllables."""
    words = _name_words(ln) or []
    lost = sum(w.startswith("?") for w in words)
    tail = words[lost - 1][1:] if lost else ""
    words = [capitalize_first(w) for w in words if not w.startswith("?")]
    restored = surname_from_tail(tail) if lost and words and capitalize_first(words[0]) not in SURNAMES else None
    if restored is not None:  # "ùi Văn Hải": the signature's strokes took the surname's first letter
        return _Found(canonical(" ".join([restored, *words])), min(ln.conf, 0.6), SURNAME_COMPLETED, line=ln)
    # seal ring text in front of the name ("ỦY Đỗ Phương Thu Lan"): drop a word that is no name part
    while (len(words) > 3 and repair_surname(words[0]) is None and not is_name_syllable(words[0])
           and repair_surname(words[1]) is not None):
        words.pop(0)
    conf = ln.conf
    reason = None
    surname = repair_surname(words[0]) if words else None
    if lost:
        conf = min(conf, 0.5)
        reason = "signer: start of the name unreadable (seal or signature over it?)"
    elif len(words) == 2:
        conf = min(conf, 0.7)
        reason = "signer: only two words read"
    if lost:
        pass  # the surname itself was lost: nothing to check or repair
    elif surname is None:
        if ln.conf < 0.5:
            return _Found(None, 0.0, "signer: name under the signature unreadable", line=ln)
        conf = min(conf, 0.5)
        reason = f"signer: {words[0]!r} is not a known surname" if words else "signer: unreadable"
    else:
        words[0] = surname
        odd = [w for w in words[1:] if not is_name_syllable(w)]
        if odd:
            conf = min(conf, 0.6)
            reason = "signer: unusual name syllable " + ", ".join(repr(w) for w in odd)
    return _Found(canonical(" ".join(words)) if words else None, conf, reason, line=ln)


def find_signer(pages_lines: Sequence[Sequence[Line]]) -> tuple[_Found, _Found]:
    """Signer name and position from the signature block bottom right of the last signed page.

    The block is the lowest group of position lines ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ
    TỊCH") in the right half; the name is the first name-like line under it. A red seal over the
    block can make OCR drop the position lines: then the lowest name-like line right of "Nơi nhận:"
    is taken. The page that carries "Nơi nhận:" (the end of the document itself) is searched first: the
    pages after it are annexes, whose forms have signature blocks of their own, never signed.
    """
    unreadable: tuple[_Found, _Found] | None = None
    for lines in (pages_lines[i] for i in _page_order(pages_lines)):
        if not lines:
            continue
        width = lines[0].page_width
        right = [ln for ln in lines if ln.cx > 0.5 * width and ln.left > 0.35 * width]
        pos_idx = [i for i, ln in enumerate(right) if _is_position_line(ln)]
        if not pos_idx:
            name = _name_without_block(lines, right)
            if name is not None:
                return (_signer_found(name),
                        _Found(None, 0.0, "signer_position: not readable"))
            continue
        block_end = pos_idx[-1]
        position_line = right[block_end]
        position = _position_text(position_line)
        pos_f = _Found(position, position_line.conf, line=position_line)
        names = [ln for ln in right[block_end + 1 :]
                 if ln.top - position_line.bottom <= 0.3 * ln.page_height and _looks_like_name(ln)]
        if names:
            # seal ring text and signature strokes can look like words: prefer a real personal name
            return max((_signer_found(ln) for ln in names), key=_name_quality), pos_f
        if unreadable is None:  # an attachment signed by the same person may show the name
            unreadable = _Found(None, 0.0, "signer: name under the signature unreadable"), pos_f
    if unreadable is not None:
        return unreadable
    return (_Found(None, 0.0, "signer: signature block not found"),
            _Found(None, 0.0, "signer_position: not found"))


def _page_order(pages_lines: Sequence[Sequence[Line]]) -> list[int]:
    """The order the pages are searched for the signature block: the page that carries "Nơi nhận:" (the
    end of the document itself) first, then from the last page back (annexes may follow the signature)."""
    ends = [i for i, lines in enumerate(pages_lines) if any(ln.fold.startswith(RECIPIENTS) for ln in lines)]
    order = list(range(len(pages_lines) - 1, -1, -1))
    if ends:
        order.remove(ends[-1])
        order.insert(0, ends[-1])
    return order


def _name_quality(found: _Found) -> tuple[bool, float]:
    return found.reason is None, found.conf


def _name_without_block(lines: Sequence[Line], right: Sequence[Line]) -> Line | None:
    """The signer's name when the position lines were lost: lowest name-like line in the footer."""
    recipients = next((ln for ln in lines if ln.fold.startswith((*RECIPIENTS, "noi nhgn"))), None)
    floor = recipients.top - 2 * recipients.height if recipients else 0.55 * (lines[0].page_height if lines else 0)
    names = [ln for ln in right if ln.top > floor and _looks_like_name(ln)]
    if not names:
        return None
    best = max(names, key=lambda ln: (_name_quality(_signer_found(ln)), ln.top))
    return best


def _position_text(ln: Line) -> str:
    """ "KT. CHỦ TỊCH" -> "Chủ tịch" style: the position itself, in sentence case."""
    text = ln.text
    m = _AUTHORITY.match(ln.fold)
    if m:
        n = len(ln.fold[: m.end()].split())
        text = " ".join(text.split()[n:])
    words = canonical(text).split(" ")
    return " ".join([capitalize_first(words[0])] + [w.lower() for w in words[1:]]) if words and words[0] else text


# --- the second look at the signature block ------------------------------------------------------


Box = tuple[int, int, int, int]  # left, top, right, bottom in page pixels
Reocr = Callable[[int, Box], Sequence[Word]]  # (page number, box) -> words in page coordinates


def signer_region(lines: Sequence[Line]) -> Box | None:
    """Where the signature block of a page is: right half, from the position lines (or "Nơi nhận:")
    down about a quarter page; when neither was read, the space below the last line read. None when
    the page has no room left for a footer."""
    if not lines:
        return None
    width, height = lines[0].page_width, lines[0].page_height
    right = [ln for ln in lines if ln.cx > 0.5 * width and ln.left > 0.35 * width]
    anchors = [ln for ln in right if _is_position_line(ln)]
    anchors += [ln for ln in lines if ln.fold.startswith(RECIPIENTS)]
    if anchors:
        top = min(ln.top for ln in anchors) - 10
    else:  # the whole block was lost under the seal and signature: look below the last line read
        top = max(ln.bottom for ln in lines) + 5
        if height - top < 0.1 * height:
            return None
    return int(0.45 * width), max(0, top), width, min(height, top + int(0.3 * height))


def _second_look(reocr: Reocr, pages_lines: Sequence[Sequence[Line]], usable: Sequence[PageResult],
                 read: Reocr | None = None) -> tuple[_Found, _Found] | None:
    """Signer read again from a fresh OCR of the signature block (e.g. with the seal's ink removed);
    ``read``, when given, is how the block is read instead of ``reocr`` (line by line)."""
    for index in _page_order(pages_lines):  # the page find_signer looks at first: annexes may follow
        box = signer_region(pages_lines[index])
        if box is None:
            continue
        words = tuple((read or reocr)(usable[index].page, box))
        if not words:
            return None
        page = usable[index]
        lines = build_lines(PageResult(page=page.page, width=page.width, height=page.height, words=words), index)
        name, position = find_signer([lines])
        return name, position
    return None
