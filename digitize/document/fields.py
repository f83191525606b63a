"""Field finders for the number, the issue date and place, the document type and the trích yếu."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

from digitize.document import validate
from digitize.document.lines import Line, _Found, _words_conf
from digitize.document.skeleton import Skeleton, _centred
from digitize.text import doctypes
from digitize.text.doctypes import DocType
from digitize.text.vntext import (
    canonical,
    collapse,
    fold,
    is_upper_text,
    letter_ratio,
    sentence_case,
)

# --- fields ---------------------------------------------------------------------------------------

_SO_LABEL = re.compile(r"^\W{0,2}(s[oe06o]|so)\s*[:;.,]?\s*", re.IGNORECASE)
_STAMP_WORDS = re.compile(r"\b(den|chuyen|luu ho so|cv den|cong van den)\b")


def _is_stamp(ln: Line, lines: Sequence[Line]) -> bool:
    """Incoming-mail stamps ("CÔNG VĂN ĐẾN / Số: … / Ngày: … / Chuyển: …") near this line."""
    h = ln.height
    for other in lines:
        if other.page != ln.page or abs(other.cy - ln.cy) > 3.5 * h:
            continue
        if other.right < ln.left - 2 * h or other.left > ln.right + 2 * h:
            continue
        f = other.fold
        if len(f.split()) <= 6 and re.search(r"\bden\b", f) and ("so" in f.split() or "cong van" in f or "cv" in f
                                                                  or other is ln or "den" == f.split()[-1]):
            return True
        if re.match(r"^(chuyen|luu ho so|ky nhan)\b", f):
            return True
    return False


def _label_rest(text: str) -> str | None:
    """What follows a "Số:" label (OCR variants "Sô:", "S6:", "Sé:", "§ố"), or None when there is no label."""
    text = re.sub(r"^(\W{0,2})[§$]", r"\1S", collapse(text))
    f = fold(text)
    m = re.match(r"^\W{0,2}s\s?[oe06]\s*[:;.,]?\s*(?=[0-9OoIl.…])", f)
    if not m:
        return None
    return text[m.end() :] if len(text) == len(f) else _cut_like(text, f, m.end())


def _cut_like(text: str, folded: str, pos: int) -> str:
    """Cut ``text`` after the same number of words as ``folded[:pos]`` holds (folding may change length)."""
    n = len(folded[:pos].split())
    parts = collapse(text).split(" ")
    # the label and the number may be glued ("Số:492/TB"): keep the digits
    if n and n <= len(parts):
        head = " ".join(parts[:n])
        rest = " ".join(parts[n:])
        m = re.search(r"[0-9OoIl.…]", head[2:]) if len(head) > 2 else None
        if m and not rest:
            return head[2 + m.start() :]
        if m and re.match(r"^\W{0,2}\w{1,2}\s*[:;.,]?\s*$", head) is None:
            return head[2 + m.start() :] + (" " + rest if rest else "")
        return rest
    return collapse(text)


def _number_from(rest: str, doc_type: DocType | None) -> tuple[validate.ParsedNumber | None, int]:
    """Parse the number after a label: the longest prefix of tokens that parses. Returns (parsed, tokens)."""
    tokens = [t for t in (x.strip("'\"“”‘’`_|") for x in collapse(rest).split(" ")) if t]
    best: tuple[validate.ParsedNumber | None, int] = (None, 0)
    for n in range(1, min(len(tokens), 5) + 1):
        parsed = validate.parse_number(" ".join(tokens[:n]), doc_type)
        if parsed is not None:
            best = (parsed, n)
    return best


_GLUED = re.compile(r"^([0-9OoIl]{1,5})([A-Za-zĐđ]{2,})$")


def _number_from_glued(rest: str, doc_type: DocType | None) -> validate.ParsedNumber | None:
    """ "302TBTNMT" (slash and dash lost): split after the document type's own abbreviation."""
    if doc_type is None or not doc_type.abbreviation:
        return None
    m = _GLUED.match(re.sub(r"[^0-9A-Za-zĐđ]", "", rest))
    if not m:
        return None
    letters = m.group(2)
    abbr = doc_type.abbreviation
    if fold(letters[: len(abbr)]) != fold(abbr) or len(letters) < len(abbr) + 2:
        return None
    return validate.parse_number(f"{m.group(1)}/{abbr}-{letters[len(abbr):]}", doc_type)


def find_number(sk: Skeleton, doc_type: DocType | None) -> _Found:
    """The document's own number: "Số:" under the issuer block (or under the heading on permits)."""
    lines = sk.lines
    if doc_type is not None and doc_type.number_label != "Số":
        label = fold(doc_type.number_label)
        for ln in lines:
            f = ln.fold
            if label in f:
                rest = ln.text.split(":", 1)[1] if ":" in ln.text else " ".join(ln.text.split()[len(label.split()):])
                token = re.sub(r"[^0-9A-Za-z]", "", rest.split()[0]) if rest.split() else ""
                if re.fullmatch(r"[0-9A-Z]{6,15}", token):
                    digits = [w for w in ln.words if any(ch.isdigit() for ch in w.text)]
                    return _Found(token, _words_conf(digits), line=ln)
                return _Found(None, 0.0, f"number: {doc_type.number_label} unreadable", line=ln)
    candidates: list[tuple[int, Line, str]] = []
    for ln in lines:
        if ln.top > 0.75 * ln.page_height:
            break
        rest = _label_rest(ln.text)
        in_issuer_column = ln.cx < sk.col_split and ln.top < sk.header_bottom + 0.02 * ln.page_height
        if rest is None:
            # the label itself lost ("3628/QĐ-UBND" alone under the issuer): the whole line must parse
            text = ln.text.strip(" .,:;-_'\"|")
            if in_issuer_column and re.match(r"^[0-9OoIl]", text):
                parsed, n = _number_from(text, doc_type)
                if parsed is not None and n == len(text.split()) and not _is_stamp(ln, lines):
                    candidates.append((1, ln, text))
            continue
        if in_issuer_column:
            rank = 0  # issuer column, under the issuer's name
        elif sk.title is not None and _centred(ln) and 0 <= ln.top - sk.title.bottom < 6 * ln.height:
            rank = 0  # under the heading (permits, extracts)
        elif ln.top < sk.header_bottom:
            rank = 2
        else:
            continue
        if _is_stamp(ln, lines):
            continue
        candidates.append((rank, ln, rest))
    candidates.sort(key=lambda c: (c[0], c[1].top))
    for _rank, ln, rest in candidates:
        parsed, n = _number_from(rest, doc_type)
        if parsed is None:
            glued = _number_from_glued(rest, doc_type)
            if glued is not None:
                return _Found(glued.text, min(_words_conf(ln.words), 0.5), "number: separators lost, rebuilt",
                              line=ln)
            if re.search(r"[.…_]{3,}", rest) or not re.search(r"\d", rest):
                return _Found(None, 0.0, "number: blank or hand-written", line=ln)
            return _Found(None, 0.0, f"number: unreadable ({len(rest)} characters)", line=ln)
        used = [w for w in ln.words if any(ch.isdigit() for ch in w.text) or "/" in w.text][: max(n, 1) + 1]
        conf = _words_conf(used or ln.words)
        # Tesseract rates mixed tokens like "37/QĐ-UBND" low even when crisp; a clean, separately read
        # label next to a number that parses and agrees with the type vouches for the print quality.
        label = ln.words[0] if ln.words and _label_rest(ln.words[0].text) is not None else None
        if label is None and ln.words and re.fullmatch(r"\W{0,2}s\s?[oe06]\s*[:;.,]?", fold(ln.words[0].text)):
            label = ln.words[0]
        if (label is not None and label not in used and not parsed.issues
                and not validate.check_number_type(parsed, doc_type)):
            conf = max(conf, min(label.conf / 100.0, 0.9))
        reason = None
        if parsed.issues:
            conf = min(conf, 0.6)
            reason = "number: " + "; ".join(parsed.issues)
        return _Found(parsed.text, conf, reason, line=ln)
    return _Found(None, 0.0, "number: not found")


_PLACE_DATE = re.compile(r"^(?P<place>.*?)[\s,.;]*\bng\S{1,4}?\s*[:.]?\s*[0-9OoIl|!]{1,2}(?![0-9])")  # "ngày22tháng"


def _date_line(ln: Line) -> tuple[str | None, dt.date | None]:
    """(place, date) from "<place>, ngày dd tháng mm năm yyyy"."""
    date = validate.parse_vn_date(ln.text)
    if date is None:
        return None, None
    f = ln.fold
    m = _PLACE_DATE.match(f)
    if not m:
        return None, date
    n_words = len(m.group("place").split())
    place = _first_words(ln, n_words).strip(" ,.;:")
    return (place or None), date


def _first_words(ln: Line, n: int) -> str:
    """The line's first ``n`` words as printed: an abbreviation's full stop and the word whose box overlaps it
    were printed as one ("Tp.Hồ", read as "Tp." over "Hồ": Tesseract cut at the stop); others with a space."""
    words = [w for w in ln.words if w.text.strip()][:n]
    if len(words) != n or " ".join(w.text for w in words) != " ".join(collapse(ln.text).split(" ")[:n]):
        return " ".join(collapse(ln.text).split(" ")[:n])  # the line's text is not its words': as written
    out = words[0].text if words else ""
    for a, b in zip(words, words[1:], strict=False):
        glued = a.text.endswith(".") and b.left < a.left + a.width - 0.25 * min(a.height, b.height)
        out += ("" if glued else " ") + b.text
    return out


# a unit word printed before a place's name ("Thành phố Hồ Chí Minh", "Tp. Hồ Chí Minh"; "Up.", "Ty." misread "Tp.")
_TP_MISREAD = r"(?:[A-SU-Z][pP]|T[a-oq-wyzA-OQ-WYZ])"  # "Up.", "Ty.": "Tp." with a letter misread
_UNIT_PREFIX = re.compile(rf"^(?:(?:Thành phố|Thị xã|Thị trấn)\s+|(?:T[pP]|TX|Tx|{_TP_MISREAD})\.\s*)")


def _split_unit(text: str) -> tuple[str, str]:
    """(the unit word before a place's name as printed, "" for none; the name)."""
    m = _UNIT_PREFIX.match(text)
    if m is None:
        return "", text
    unit = m.group(0)
    if re.match(rf"^{_TP_MISREAD}\.", unit):
        unit = "Tp" + unit[2:]  # "Up.", "Ty.": "Tp." misread (the only other is "Tx.", thị xã)
    return unit, text[m.end():]


def _is_place(text: str | None) -> bool:
    if not text:
        return False
    words = _split_unit(text)[1].split()
    return 1 <= len(words) <= 5 and all(w[:1].isupper() for w in words) and letter_ratio(text) > 0.85


_PLACE_ONLY = re.compile(r"^(?P<place>[^\d,]{2,40}?)[\s,.;]*\bng[aà][^\W\d]{0,2}(?![^\W\d])")


def _header_place(sk: Skeleton) -> _Found | None:
    """The place of the header's "<place>, ngày …" line whose date could not be read (a day written by pen,
    a label misread): the place is print, and stands on its own."""
    for ln in sk.lines:
        if ln.page != 0 or ln.top > sk.header_bottom + ln.height or ln.left < sk.col_split - 0.05 * ln.page_width:
            continue
        m = _PLACE_ONLY.match(ln.fold)
        if not m:
            continue
        n = len(m.group("place").split())
        place = _first_words(ln, n).strip(" ,.;:")
        if _is_place(place):
            return _Found(_respelt(place), _words_conf(ln.words[:n]), line=ln)
    return None


def _respelt(place: str) -> str:
    """A place as the gazetteer spells it when exactly one unit has its letters ("Hà Nói" -> "Hà Nội"), after
    the unit word printed before it ("Thành phố Hô Chí Minh" -> "Thành phố Hồ Chí Minh")."""
    from digitize.text import gazetteer

    unit, name = _split_unit(place)
    found = gazetteer.lookup(name)
    return unit + (found.name if found.status in ("exact", "corrected") else canonical(name))


BODY_DATE = "issued_date: read from the body text, not from the date line under the motto"
# a document cited before a date ("Quyết định số 12/QĐ-UBND ngày …", "văn bản số 879/SKH-ĐKKD ngày …")
_CITED = re.compile(r"(\bso\b\s*:?\s*\S*\d\S*\s*$|\d+/[\w/.-]*[a-z][\w/.-]*\s*$|\bcua\b.*$)")


def find_date_place(sk: Skeleton, pages_lines: Sequence[Sequence[Line]]) -> tuple[_Found, _Found]:
    """Issue date and place: the "<place>, ngày …" line right of the number, else above the signer."""
    cands: list[tuple[int, Line, str | None, dt.date]] = []
    for lines in pages_lines:
        for ln in lines:
            if ln.left < 0.3 * ln.page_width:
                continue
            place, date = _date_line(ln)
            if date is None:
                continue
            f = ln.fold
            if re.search(r"(dang ky|lan dau|sinh|cap ngay|ky:|thoi gian)", f.split("ngay")[0]):
                continue
            in_header = (ln.page == 0 and ln.top < sk.header_bottom + ln.height
                         and ln.left >= sk.col_split - 0.05 * ln.page_width)
            rank = 0 if in_header and _is_place(place) else 1 if _is_place(place) else 2 if in_header else 3
            if rank == 3 and _CITED.search(f.split("ngay")[0]):
                continue  # "… Thông tư số 86/2016/TT-BQP ngày 20 tháng 6 năm 2016": another document's date
            cands.append((rank, ln, place, date))
    header_place = _header_place(sk)
    if not cands:
        return _Found(None, 0.0, "issued_date: not found"), header_place or _Found(None, 0.0, "place: not found")
    cands.sort(key=lambda c: (c[0], c[1].page, c[1].top))
    _rank, ln, place, date = cands[0]
    if header_place is not None and not _is_place(place):
        place, ln_place = header_place.value, header_place
        return _Found(date.isoformat(), _words_conf([w for w in ln.words if any(c.isdigit() for c in w.text)]),
                      line=ln), ln_place
    date_words = [w for w in ln.words if any(ch.isdigit() for ch in w.text)]
    date_f = _Found(date.isoformat(), _words_conf(date_words), line=ln)
    if _rank == 3:  # a date in running text, with no place before it: perhaps not the document's own
        date_f = _Found(date.isoformat(), min(date_f.conf, 0.5), BODY_DATE, line=ln)
    if _is_place(place):
        n = len(place.split()) if place else 0
        place_f = _Found(_respelt(place), _words_conf(ln.words[:n]), line=ln)
    else:
        place_f = _Found(None, 0.0, "place: unreadable", line=ln)
    return date_f, place_f


# "V/v" and its misreadings: "V/w", "V.v", "V/", "Ví:" ("/" read as an accent), "%w" ("V/" read as "%")
_VV_HEAD = r"^\W{0,2}(?:[vV]\s?[/l1|.]\s?[vVwW]?\s*[:.]?\s|[vV][iíÍ]\s?:\s|%\s?[vVwW]\s)"
_VV = re.compile(_VV_HEAD + r"|^\W{0,2}(?:vv\s|ve viec\s)")  # on folded text


def _is_vv(folded: str) -> bool:
    """A công văn's trích yếu line: "V/v …" (OCR: "V/ …", "Vv …", "V/v: …")."""
    return bool(_VV.match(folded + " "))


def _clean_summary(text: str) -> str:
    """Trích yếu text: leading dashes, quotes around the whole of it and stray full stops inside it removed."""
    text = collapse(text).lstrip(" -–—_.,;:'")
    if text[:1] in "“\"" and not any(c in "”\"" for c in text[1:-1]):
        text = text[1:].rstrip(" ”\"")  # “Ứng dụng … 2011-2015”: the whole trích yếu in quotes
    text = text.lstrip(' "')
    text = re.sub(r"\s*\.\s+(?=[a-zà-ỹđ])", " ", text)
    text = re.sub(r"\s+[^\W\dIVXLC]$", "", text.rstrip(" .;,"))  # a lone letter after the end: a speck read
    return canonical(text.rstrip(" .;,"))


CENTRED = 0.05  # a trích yếu line's middle is within this share of the page width of the heading's
GARBLED = 0.5  # a line read with less mean confidence than this is not print (a stamp, a seal)


def _left_column(ln: Line, col_split: float) -> Line | None:
    """The part of ``ln`` in the issuer column: its words up to the first wide gap, or up to ``col_split``;
    None when the line starts in the other column."""
    if ln.cx < col_split:
        return ln
    words = sorted(ln.words, key=lambda w: w.left)
    if not words or words[0].left >= col_split:
        return None
    kept = [words[0]]
    for w in words[1:]:
        if w.left >= col_split or w.left - (kept[-1].left + kept[-1].width) > ln.height:
            break
        kept.append(w)
    return replace(ln, words=tuple(kept))


def find_summary(sk: Skeleton, doc_type: DocType | None, number_line: Line | None) -> _Found:
    """Trích yếu: the centred lines under the type name, or "V/v …" under a công văn's number."""
    lines = sk.lines
    if doc_type is not None and doc_type.kind == "cong_van" or sk.title is None:
        start = None
        for ln in lines:
            if ln.top > sk.header_bottom + 2 * ln.height or ln.top > 0.45 * ln.page_height:
                break
            left = _left_column(ln, sk.col_split)
            if left is not None and _is_vv(left.fold):
                if number_line is None or ln.top >= number_line.top:
                    start = left  # without what the row holds in the right column (a note beside it)
                    break
        lost_vv = start is None and doc_type is not None and doc_type.kind == "cong_van"
        if lost_vv:  # "V/v" not read (a speck, a stamp over it): the lines right under the number
            start = _under_number(sk, number_line)
        if start is None:
            if doc_type is not None and doc_type.kind == "cong_van":
                return _Found(None, 0.0, "summary: V/v line not found")
            return _Found(None, 0.0, None if doc_type is not None and not doc_type.has_summary else
                          "summary: not found")
        parts = [start]
        cur = start
        for ln in lines:
            if ln.top <= cur.top or ln.cx >= sk.col_split or ln.right > sk.col_split + 0.05 * ln.page_width:
                continue
            if ln.top - cur.bottom > 1.2 * cur.height:
                break
            if sum(c.isalnum() for c in ln.text) < 2:
                continue  # a speck between two lines of the trích yếu
            if ln.conf < GARBLED:
                break  # a stamp or a seal read as letters
            if is_upper_text(ln.text, threshold=0.7) or _STAMP_WORDS.search(ln.fold) or ln.fold.startswith("kinh gui"):
                break  # an incoming-mail stamp or the addressee under the trích yếu
            parts.append(ln)
            cur = ln
        text = collapse(" ".join(p.text for p in parts))
        text = re.sub(r"^\W{0,2}(?:[vV]\s?[/l1|.]\s?[vVwW]?\s*[:.]?|[vV][iíÍ]\s?:|%\s?[vVwW](?=\s))\s*", "V/v ", text)
        conf = _words_conf([w for p in parts for w in p.words])
        if lost_vv:
            return _Found(_clean_summary(text), min(conf, 0.6), "summary: 'V/v' not read; the lines under the number",
                          line=start)
        return _Found(_clean_summary(text), conf, line=start)
    if doc_type is None:
        return _Found(None, 0.0, "summary: document type unknown")
    last = sk.title_lines[-1]
    parts: list[Line] = []
    upper_parts = False
    ref = sk.title.cx
    cur = last
    for ln in _joined_rows(lines):
        if ln.top <= last.top + 0.5 * last.height or ln in sk.title_lines:
            continue
        gap = ln.top - cur.bottom
        if gap > (1.0 if parts else 2.5) * ln.height:
            break
        if abs(ln.cx - ref) > CENTRED * ln.page_width:
            if ln.left > ref + 0.1 * ln.page_width or ln.right < ref - 0.1 * ln.page_width:
                continue  # something beside the heading (a stamp, a margin note)
            break
        f = ln.fold
        caps_summary = doc_type.kind == "legal" and (not parts or upper_parts)  # a decree's trích yếu is in capitals
        if caps_summary and is_upper_text(ln.text, threshold=0.7) and not f.startswith(("can cu", "chinh phu")):
            parts.append(ln)
            upper_parts = True
            cur = ln
            continue
        if (is_upper_text(ln.text, threshold=0.7) or f.startswith(("can cu", "kinh gui", "so:", "ma so"))
                or (f.startswith("(") and not _is_vv(f[1:]))  # "(kèm theo …)"; "(V/v …)" is the trích yếu
                or _label_rest(ln.text) is not None or letter_ratio(ln.text) < 0.6):
            break
        if not parts and not doc_type.has_summary and not f.startswith("ve viec"):
            break
        parts.append(ln)
        cur = ln
    if not parts:
        if doc_type.has_summary and doc_type.kind in ("administrative", "legal"):
            return _Found(None, 0.0, "summary: not found")
        return _Found(None, 1.0)
    text = " ".join(p.text for p in parts)
    if upper_parts:
        text = sentence_case(text)
    return _Found(_clean_summary(text), _words_conf([w for p in parts for w in p.words]), line=parts[0])


def _under_number(sk: Skeleton, number_line: Line | None) -> Line | None:
    """The first line of running text under a công văn's number line, in its column (its trích yếu)."""
    if number_line is None or number_line.cx >= sk.col_split:
        return None
    for ln in sk.lines:
        if ln.top <= number_line.top + 0.5 * number_line.height or ln.cx >= sk.col_split:
            continue
        if ln.top - number_line.bottom > 3 * number_line.height:
            return None
        if (is_upper_text(ln.text, threshold=0.7) or _STAMP_WORDS.search(ln.fold) or ln.fold.startswith("kinh gui")
                or letter_ratio(ln.text) < 0.6 or len(ln.words) < 3):
            return None
        return ln
    return None


def _joined_rows(lines: Sequence[Line]) -> list[Line]:
    """The lines with the segments of one row that lie close together joined (OCR may cut a centred
    trích yếu line into "Về việc giao", a speck, "bổ" and "sung kinh phí …"); a lone mark among them is
    dropped. Top to bottom, as the lines came."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda x: (x.page, x.cy)):
        row = rows[-1] if rows else None
        if row and row[0].page == ln.page and abs(row[0].cy - ln.cy) < 0.5 * min(row[0].height, ln.height):
            row.append(ln)
        else:
            rows.append([ln])
    out: list[Line] = []
    for row in rows:
        joined: list[Line] = []
        for ln in sorted(row, key=lambda x: x.left):
            prev = joined[-1] if joined else None
            if prev is not None and ln.left - prev.right < 1.5 * ln.height:  # close, or inside (a speck)
                words = tuple(sorted(prev.words + ln.words, key=lambda w: w.left))
                kept = tuple(w for w in words if sum(c.isalnum() for c in w.text) > 1 or w.text.isdigit())
                joined[-1] = replace(prev, words=kept or words)
            else:
                joined.append(ln)
        out += joined
    return sorted(out, key=lambda x: (x.page, x.top))


def find_doc_type(sk: Skeleton) -> _Found:
    """Type name from the heading; a công văn has none and puts "V/v …" under its number."""
    if sk.title_type is not None:
        conf = min(_words_conf([w for ln in sk.title_lines for w in ln.words]), sk.title_score)
        return _Found(sk.title_type.name, conf, line=sk.title)
    for ln in sk.lines:
        if ln.top > sk.header_bottom + 3 * ln.height:
            break
        if ln.cx < sk.col_split and _is_vv(ln.fold):
            return _Found(doctypes.CONG_VAN.name, ln.conf, line=ln)
    for ln in sk.lines:
        if ln.fold.startswith("kinh gui") and ln.top < 0.5 * ln.page_height:
            return _Found(doctypes.CONG_VAN.name, min(ln.conf, 0.7), "doc_type: no heading, read as công văn",
                          line=ln)
    return _Found(None, 0.0, "doc_type: no type heading found")
