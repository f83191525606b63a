"""Layout-aware metadata extraction from OCR words and their boxes (Decree 30/2020 Appendix I).

A Decree 30 document puts its metadata in fixed places: the issuer block top left (parent body,
issuing body, "Số: …" under it, and for a công văn "V/v …" under that), the national title block top
right with "<place>, ngày … tháng … năm …" on the "Số" line, the type name and trích yếu centred
under the header, the signer block bottom right (authority, position, signature and seal, name) and
"Nơi nhận:" bottom left. Tesseract reads the two header columns line by line into one text, so this
module never parses the flattened text: it regroups the words into lines by geometry (rows by
vertical position, columns by horizontal gaps and the national title's left edge) and looks for each
field where the layout puts it. Certificates, permits and civil-status extracts follow their own
forms and are read the same way ("Số:" under the heading, the date above the signer).

A field that cannot be read is None with a reason; :mod:`digitize.document.validate` checks the values and
turns doubts into review reasons.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from digitize.document import validate
from digitize.models import Field, Metadata, PageResult, Word
from digitize.text import doctypes
from digitize.text.doctypes import DocType
from digitize.text.vntext import (
    canonical,
    capitalize_first,
    collapse,
    fold,
    is_name_syllable,
    is_upper_text,
    letter_ratio,
    repair_surname,
    sentence_case,
    title_case,
)

log = logging.getLogger(__name__)

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


# --- the page's skeleton --------------------------------------------------------------------------

_MOTTO_1 = "cong hoa xa hoi chu nghia viet nam"
_MOTTO_2 = "doc lap - tu do - hanh phuc"
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
            if Levenshtein.distance(folded[i], "cong") <= 1 and folded[i + 1][:2] == "ho":
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


_PLACE_DATE = re.compile(r"^(?P<place>.*?)[\s,.;]*\bng\S{1,4}?\s*[:.]?\s*[0-9OoIl|!]{1,2}\b")


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
    place_words = collapse(ln.text).split(" ")[:n_words]
    place = " ".join(place_words).strip(" ,.;:")
    return (place or None), date


def _is_place(text: str | None) -> bool:
    if not text:
        return False
    words = text.split()
    return 1 <= len(words) <= 5 and all(w[:1].isupper() for w in words) and letter_ratio(text) > 0.85


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
            cands.append((rank, ln, place, date))
    if not cands:
        return _Found(None, 0.0, "issued_date: not found"), _Found(None, 0.0, "place: not found")
    cands.sort(key=lambda c: (c[0], c[1].page, c[1].top))
    _rank, ln, place, date = cands[0]
    date_words = [w for w in ln.words if any(ch.isdigit() for ch in w.text)]
    date_f = _Found(date.isoformat(), _words_conf(date_words), line=ln)
    if _is_place(place):
        n = len(place.split()) if place else 0
        place_f = _Found(canonical(place), _words_conf(ln.words[:n]), line=ln)
    else:
        place_f = _Found(None, 0.0, "place: unreadable", line=ln)
    return date_f, place_f


# Organisation names: a new body starts at one of these heads; other lines continue the previous one.
_ORG_HEADS = (
    "uy ban nhan dan", "ubnd", "hoi dong nhan dan", "hdnd", "phong", "so", "bo", "cuc", "chi cuc", "tong cuc",
    "ban", "trung tam", "van phong", "truong", "benh vien", "cong an", "bao hiem", "kho bac", "chi nhanh",
    "dang uy", "thanh tra", "toa an", "vien kiem sat", "doi", "hat", "tram", "ubmttq", "uy ban mat tran",
    "hoi dong", "khoa", "vien", "hoc vien", "dai hoc", "bo phan", "chinh phu", "thu tuong", "tinh uy", "huyen uy",
    "thanh uy", "dang bo", "chi bo", "doan thanh nien", "cong ty", "tong cong ty", "hop tac xa", "ngan hang",
    "lien doan", "hoi lien hiep", "quoc hoi", "kiem toan", "thu vien", "bao tang",
)
_UNITS = ("tinh", "thanh pho", "huyen", "quan", "thi xa", "xa", "phuong", "thi tran")
_EXPAND = {"ubnd": "Ủy ban nhân dân", "hdnd": "Hội đồng nhân dân", "tp": "thành phố", "tx": "thị xã",
           "tt": "thị trấn", "kcn": "khu công nghiệp", "kkt": "khu kinh tế", "ccn": "cụm công nghiệp"}
_NOT_UNIT = {("quan", "ly"), ("xa", "hoi"), ("quan", "doi"), ("quan", "su"), ("tinh", "hinh")}  # quản lý, xã hội …


def _starts_with(folded: str, heads: Sequence[str]) -> str | None:
    for head in sorted(heads, key=len, reverse=True):
        if folded == head or folded.startswith(head + " "):
            return head
    return None


def _org_case(text: str) -> str:
    """"PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG HUYỆN TIỀN HẢI" -> "Phòng Tài nguyên và Môi trường huyện Tiền Hải"."""
    words = canonical(text).split(" ")
    out: list[str] = []
    i = 0
    cap_next = False
    in_place = False
    while i < len(words):
        w = words[i]
        f = fold(w)
        if f in _EXPAND and w.isupper():
            exp = _EXPAND[f]
            out.append(exp if not out else (exp if f in ("ubnd", "hdnd") else exp.lower()))
            in_place = f in ("tp", "tx", "tt")
            cap_next = f not in ("ubnd", "hdnd")
            i += 1
            continue
        two = fold(" ".join(words[i : i + 2]))
        unit = next((u for u in _UNITS if two == u or f == u), None) if out else None
        if unit is not None and (f, fold(words[i + 1]) if i + 1 < len(words) else "") in _NOT_UNIT:
            unit = None
        if unit is not None:
            n = len(unit.split())
            out.extend(x.lower() for x in words[i : i + n])
            i += n
            in_place, cap_next = True, True
            continue
        if not out:
            out.append(capitalize_first(w))
        elif in_place or cap_next:
            out.append(capitalize_first(w))
            cap_next = False
        elif f in ("va", "-", ",", "&"):
            out.append(w.lower())
            cap_next = f != ","
        else:
            out.append(w.lower())
        if len(out) == 1 and f in ("phong", "so", "bo", "cuc", "ban", "truong"):
            cap_next = True
        i += 1
    return " ".join(out)


def _locality(name_folded: str) -> str | None:
    """The administrative unit part of a body's name ("... huyen tien hai" -> "huyen tien hai")."""
    words = name_folded.split()
    for i in range(len(words)):
        for u in _UNITS:
            n = len(u.split())
            if " ".join(words[i : i + n]) == u and i + n < len(words):
                return " ".join(words[i:])
    return None


_AGENCIES = (
    "Ủy ban nhân dân", "Hội đồng nhân dân", "Phòng Tài nguyên và Môi trường", "Phòng Tài chính - Kế hoạch",
    "Phòng Tư pháp", "Phòng Kinh tế và Hạ tầng", "Phòng Quản lý đô thị", "Phòng Kinh tế",
    "Phòng Văn hóa và Thông tin", "Phòng Lao động - Thương binh và Xã hội", "Phòng Nội vụ",
    "Phòng Giáo dục và Đào tạo", "Phòng Y tế", "Phòng Nông nghiệp và Phát triển nông thôn", "Phòng Dân tộc",
    "Phòng Nông nghiệp và Môi trường", "Phòng Văn hóa, Khoa học và Thông tin", "Phòng Kinh tế, Hạ tầng và Đô thị",
    "Phòng Tài chính", "Phòng Kế hoạch và Đầu tư", "Thanh tra", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân",
    "Văn phòng Ủy ban nhân dân", "Văn phòng đăng ký đất đai", "Chi nhánh Văn phòng đăng ký đất đai",
    "Chi cục Thuế", "Chi cục Thống kê", "Công an", "Bảo hiểm xã hội", "Trung tâm Phát triển quỹ đất",
    "Trung tâm Y tế", "Ban Quản lý dự án đầu tư xây dựng", "Sở Tài nguyên và Môi trường", "Sở Kế hoạch và Đầu tư",
    "Sở Tư pháp", "Sở Xây dựng", "Sở Nội vụ", "Sở Tài chính", "Sở Lao động - Thương binh và Xã hội",
    "Sở Giao thông vận tải", "Sở Công Thương", "Sở Y tế", "Sở Giáo dục và Đào tạo",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Nông nghiệp và Môi trường", "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Thông tin và Truyền thông", "Sở Khoa học và Công nghệ", "Sở Văn hóa và Thể thao", "Sở Ngoại vụ",
    "Văn phòng", "Ban Quản lý các khu công nghiệp", "Ban Quản lý khu công nghiệp", "Ban Quản lý khu kinh tế",
    "Chính phủ", "Thủ tướng Chính phủ", "Văn phòng Chính phủ", "Thanh tra Chính phủ", "Bộ Quốc phòng", "Bộ Công an",
    "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp", "Bộ Tài chính", "Bộ Công Thương", "Bộ Y tế", "Bộ Xây dựng",
    "Bộ Giáo dục và Đào tạo", "Bộ Thông tin và Truyền thông", "Bộ Kế hoạch và Đầu tư", "Bộ Tài nguyên và Môi trường",
    "Bộ Giao thông vận tải", "Bộ Nông nghiệp và Phát triển nông thôn", "Bộ Nông nghiệp và Môi trường",
    "Bộ Khoa học và Công nghệ", "Bộ Lao động - Thương binh và Xã hội", "Bộ Văn hóa, Thể thao và Du lịch",
    "Ngân hàng Nhà nước Việt Nam", "Kiểm toán nhà nước", "Tòa án nhân dân tối cao", "Viện kiểm sát nhân dân tối cao",
    "Tổng cục Thuế", "Cục Thuế", "Cục Hải quan", "Kho bạc Nhà nước",
)
_AGENCIES_FOLDED = {fold(a): a for a in _AGENCIES}


def _canonical_agency(text: str) -> tuple[str, float] | None:
    """A known body name the OCR'd text stands for ("PHÒNG TÀI NGUYEN VÀ MÔI TRƯỜNG"), with similarity."""
    from rapidfuzz import fuzz, process

    key = re.sub(r"[^a-z0-9 ,-]", " ", fold(text))
    key = re.sub(r"^ubnd\b", "uy ban nhan dan", re.sub(r"^hdnd\b", "hoi dong nhan dan", key.strip()))
    key = " ".join(key.replace(" - ", " ").replace("-", " ").split())
    choices = {" ".join(k.replace("-", " ").split()): v for k, v in _AGENCIES_FOLDED.items()}
    hit = process.extractOne(key, list(choices), scorer=fuzz.ratio)
    if hit is None or hit[1] < 85:
        return None
    return choices[hit[0]], hit[1] / 100.0


_UNIT_WORDS = {"tinh": "tỉnh", "thanh pho": "thành phố", "huyen": "huyện", "quan": "quận", "thi xa": "thị xã",
               "xa": "xã", "phuong": "phường", "thi tran": "thị trấn", "tp": "thành phố", "tx": "thị xã",
               "tt": "thị trấn"}


_GLUED_UNIT = re.compile(r"^(ubnd|uybannhandan|hdnd|hoidongnhandan)(thanhpho|thitran|thixa|huyen|tinh|xa|phuong|quan)"
                         r"([a-z]{3,})$")


def _split_locality(text: str) -> tuple[str, str | None, str | None]:
    """ "ỦY BAN NHÂN DÂN HUYỆN ĐÔNG HƯNG" -> ("ỦY BAN NHÂN DÂN", "huyện", "ĐÔNG HƯNG").

    OCR that lost the spaces ("UBNDHUYỆNTIỀNHẢI") gives the locality without its spaces; the caller
    restores them from the document's own spelling.
    """
    words = [w for w in collapse(text).split(" ") if any(ch.isalpha() for ch in w)]
    folded = [fold(w).strip(".,;:-_'\"") for w in words]
    for i in range(1, len(words)):
        for u in sorted(_UNIT_WORDS, key=len, reverse=True):
            n = len(u.split())
            if (folded[i], folded[i + 1] if i + 1 < len(folded) else "") in _NOT_UNIT:
                continue
            if " ".join(folded[i : i + n]) == u and i + n < len(words):
                return " ".join(words[:i]), _UNIT_WORDS[u], " ".join(words[i + n :]).strip(" .,;:-_'\"")
    glued = _GLUED_UNIT.match(re.sub(r"[^a-z]", "", "".join(folded)))
    if glued:
        unit = {"thanhpho": "thanh pho", "thitran": "thi tran", "thixa": "thi xa"}.get(glued.group(2), glued.group(2))
        return glued.group(1), _UNIT_WORDS[unit], glued.group(3)
    return " ".join(words), None, None


def _place_names(pages_lines: Sequence[Sequence[Line]]) -> list[tuple[str, str]]:
    """Every "<unit> <Name>" the document prints in mixed case ("huyện Đông Hưng"): (unit, name)."""
    out: list[tuple[str, str]] = []
    for lines in pages_lines:
        for ln in lines:
            words = [w.strip(".,;:()") for w in ln.text.split(" ")]
            folded = [fold(w) for w in words]
            for i in range(len(folded)):
                for u in ("thanh pho", "thi tran", "thi xa", "huyen", "tinh", "xa", "phuong", "quan"):
                    n = len(u.split())
                    if " ".join(folded[i : i + n]) != u or not words[i][:1].islower():
                        continue
                    name: list[str] = []
                    for w in words[i + n : i + n + 4]:
                        if not w or not w[:1].isupper() or w.isupper() and len(w) > 1:
                            break
                        name.append(w)
                    if name:
                        out.append((_UNIT_WORDS[u], " ".join(name)))
                    break
    return out


def _best_spelling(name: str, known: Sequence[str]) -> str:
    """The document's own spelling of a place name OCR read in capitals (or damaged): majority vote
    over the mixed-case spellings that match it without diacritics and spaces (one slip allowed)."""
    from collections import Counter

    from rapidfuzz.distance import Levenshtein

    from digitize.text.vntext import diacritic_count

    key = fold(name).replace(" ", "")
    votes: Counter[str] = Counter()
    for k in known:
        kk = fold(k).replace(" ", "")
        if kk == key or (len(key) >= 6 and Levenshtein.distance(kk, key) <= 1):
            votes[canonical(k)] += 1
    if not votes:
        return title_case(canonical(name))
    return max(votes, key=lambda v: (votes[v], diacritic_count(v)))


_SYMBOL = re.compile(r"(^|\s)\S{0,6}[/(]\s?[a-z]{1,8}[-–][a-z]")  # "/QĐ-UBND", "(Qd-cdktkt", "./stttt-vp"


def _looks_like_number_line(ln: Line) -> bool:
    """A header line that is the document's number line: its label ("Số:", "Sá:") or a symbol
    ("/KCN-VP") whose digits were handwritten and not read."""
    f = ln.fold.strip()
    return bool(re.match(r"^\W{0,2}s[oa06]\s*[:;.,]", f)) or bool(_SYMBOL.search(f))


def find_issuer(sk: Skeleton, number_line: Line | None, pages_lines: Sequence[Sequence[Line]]) -> _Found:
    """Issuing body from the issuer block, completed with its parent's locality where printed."""
    stop = number_line.top if number_line is not None and number_line.cx < sk.col_split else sk.header_bottom
    for ln in sk.lines:  # the block ends at the number line, even one whose digits were not read
        if (sk.motto is None or ln.top > sk.motto.top) and ln.top < stop and ln.cx < sk.col_split \
                and _looks_like_number_line(ln) and not _is_stamp(ln, sk.lines):
            stop = float(ln.top)
            break
    block = [
        ln for ln in sk.lines
        if ln.page == 0 and ln.bottom <= stop + 0.3 * ln.height and ln.cx < sk.col_split and ln.right < sk.col_split
        + 0.08 * ln.page_width and ln.top < 0.35 * ln.page_height and ln.conf >= 0.2
        and letter_ratio(ln.text) > 0.6 and _label_rest(ln.text) is None and not _is_stamp(ln, sk.lines)
        and not _is_vv(ln.fold)
    ]
    block = [ln for ln in block if is_upper_text(ln.text, threshold=0.6)]
    if not block:
        return _Found(None, 0.0, "issuer: issuer block not found")
    units: list[list[Line]] = []
    for ln in block:
        if not units or _starts_with(ln.fold.lstrip("-_.,'\" "), _ORG_HEADS):
            units.append([ln])
        else:
            units[-1].append(ln)
    names = [re.sub(r"^[^\wÀ-ỹ]+|[^\wÀ-ỹ]+$", "", collapse(" ".join(ln.text for ln in u))) for u in units]
    head, unit, locality = _split_locality(names[-1])
    if unit is None:
        for parent in reversed(names[:-1]):
            _h, unit, locality = _split_locality(parent)
            if unit is not None:
                break
    known_places = _place_names(pages_lines)
    agency = _canonical_agency(head)
    body = agency[0] if agency else _org_case(head)
    value = body
    if unit is not None and locality:
        spelling = _best_spelling(locality, [n for u, n in known_places if u == unit])
        value = f"{body} {unit} {spelling}"
    used = [w for ln in units[-1] for w in ln.words]
    conf = _words_conf(used)
    if agency is not None:
        conf = max(conf, min(agency[1], 0.95))
    if len(value) < 8:
        return _Found(None, conf, "issuer: unreadable")
    return _Found(value, conf, line=units[-1][0])


_VV = re.compile(r"^\W{0,2}(v\s?[/l1|]\s?v?\s*[:.]?\s|vv\s|ve viec\s)")


def _is_vv(folded: str) -> bool:
    """A công văn's trích yếu line: "V/v …" (OCR: "V/ …", "Vv …", "V/v: …")."""
    return bool(_VV.match(folded + " "))


def _clean_summary(text: str) -> str:
    """Trích yếu text: leading dashes and stray full stops inside the sentence removed."""
    text = collapse(text).lstrip(" -–—_.,;:'\"")
    text = re.sub(r"\s*\.\s+(?=[a-zà-ỹđ])", " ", text)
    return canonical(text.rstrip(" .;,"))


def find_summary(sk: Skeleton, doc_type: DocType | None, number_line: Line | None) -> _Found:
    """Trích yếu: the centred lines under the type name, or "V/v …" under a công văn's number."""
    lines = sk.lines
    if doc_type is not None and doc_type.kind == "cong_van" or sk.title is None:
        start = None
        for ln in lines:
            if ln.top > sk.header_bottom + 2 * ln.height or ln.top > 0.45 * ln.page_height:
                break
            if ln.cx < sk.col_split and _is_vv(ln.fold):
                if number_line is None or ln.top >= number_line.top:
                    start = ln
                    break
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
            if is_upper_text(ln.text, threshold=0.7) or _STAMP_WORDS.search(ln.fold) or ln.fold.startswith("kinh gui"):
                break  # an incoming-mail stamp or the addressee under the trích yếu
            parts.append(ln)
            cur = ln
        text = collapse(" ".join(p.text for p in parts))
        text = re.sub(r"^\W{0,2}[vV]\s?[/l1|]\s?[vV]?\s*[:.]?\s*", "V/v ", text)
        return _Found(_clean_summary(text), _words_conf([w for p in parts for w in p.words]), line=start)
    if doc_type is None:
        return _Found(None, 0.0, "summary: document type unknown")
    last = sk.title_lines[-1]
    parts: list[Line] = []
    upper_parts = False
    ref = sk.title.cx
    cur = last
    for ln in lines:
        if ln.top <= last.top + 0.5 * last.height or ln in sk.title_lines:
            continue
        gap = ln.top - cur.bottom
        if gap > (1.0 if parts else 2.5) * ln.height:
            break
        if abs(ln.cx - ref) > 0.03 * ln.page_width:
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
        if (is_upper_text(ln.text, threshold=0.7) or f.startswith(("can cu", "kinh gui", "(", "so:", "ma so"))
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


_AUTHORITY = re.compile(r"^(tm|kt|q|tl|tuq|t/m|k/t)\s*[.,:]\s*")
_POSITIONS = (
    "chu tich", "pho chu tich", "truong phong", "pho truong phong", "giam doc", "pho giam doc", "chanh van phong",
    "pho chanh van phong", "truong ban", "pho truong ban", "cuc truong", "pho cuc truong", "chi cuc truong",
    "pho chi cuc truong", "thu truong", "bo truong", "chanh thanh tra", "pho chanh thanh tra", "truong tram",
    "cong chuc", "nguoi ky", "truong", "hieu truong", "pho hieu truong", "bi thu", "pho bi thu", "ke toan truong",
    "chu nhiem", "pho chu nhiem", "uy vien", "vu truong", "pho vu truong", "truong khoa", "doi truong",
    "pho doi truong", "chanh an", "vien truong", "thu ky", "chuyen vien",
)
_NOT_NAME = re.compile(r"(noi nhan|luu|ky boi|thoi gian|email|co quan|ngay|chu ky|dau|\d|:|/|\(|\))")


def _is_position_line(ln: Line) -> bool:
    f = _AUTHORITY.sub("", ln.fold)
    if _AUTHORITY.match(ln.fold):
        return True
    return bool(_starts_with(f, _POSITIONS)) and is_upper_text(ln.text, threshold=0.6)


def _name_words(ln: Line) -> list[str] | None:
    """The words of a signer-name line ("Phạm Xuân Công Tùng"), stray marks in front dropped; None
    when the line does not look like a personal name."""
    if _NOT_NAME.search(ln.fold) or _is_position_line(ln) or _starts_with(ln.fold, _ORG_HEADS + _UNITS):
        return None
    if any(p in ln.fold for p in ("chu tich", "truong phong", "giam doc", "pho chu", "pho truong", "pho giam")):
        return None
    words = [re.sub(r"^\W+|\W+$", "", w) for w in ln.text.split()]
    words = [w for w in words if w]
    dropped = 0
    while words and (not (words[0][:1].isupper() and words[0].isalpha()) or len(words[0]) == 1):
        dropped += sum(ch.isalpha() for ch in words.pop(0)) >= 2
    if not 2 <= len(words) <= 6 or not all(w[:1].isupper() and w.isalpha() for w in words):
        return None
    if any(len(w) > 7 for w in words):
        return None
    return ["?"] * dropped + words


def _looks_like_name(ln: Line) -> bool:
    return _name_words(ln) is not None


def _signer_found(ln: Line) -> _Found:
    """The signer's name from its line, checked against Vietnamese surnames and name syllables."""
    words = _name_words(ln) or []
    lost = words.count("?")
    words = [capitalize_first(w) for w in words if w != "?"]
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
    ends = [i for i, lines in enumerate(pages_lines) if any(ln.fold.startswith(("noi nhan", "nai nhan"))
                                                            for ln in lines)]
    order = list(range(len(pages_lines) - 1, -1, -1))
    if ends:
        order.remove(ends[-1])
        order.insert(0, ends[-1])
    unreadable: tuple[_Found, _Found] | None = None
    for lines in (pages_lines[i] for i in order):
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


def _name_quality(found: _Found) -> tuple[bool, float]:
    return found.reason is None, found.conf


def _name_without_block(lines: Sequence[Line], right: Sequence[Line]) -> Line | None:
    """The signer's name when the position lines were lost: lowest name-like line in the footer."""
    recipients = next((ln for ln in lines if ln.fold.startswith(("noi nhan", "nai nhan", "noi nhgn"))), None)
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


# --- the whole document ---------------------------------------------------------------------------


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
    anchors += [ln for ln in lines if ln.fold.startswith(("noi nhan", "nai nhan"))]
    if anchors:
        top = min(ln.top for ln in anchors) - 10
    else:  # the whole block was lost under the seal and signature: look below the last line read
        top = max(ln.bottom for ln in lines) + 5
        if height - top < 0.1 * height:
            return None
    return int(0.45 * width), max(0, top), width, min(height, top + int(0.3 * height))


def _second_look(reocr: Reocr, pages_lines: Sequence[Sequence[Line]], usable: Sequence[PageResult]
                 ) -> tuple[_Found, _Found] | None:
    """Signer read again from a fresh OCR of the signature block (e.g. with the seal's ink removed)."""
    for index in range(len(pages_lines) - 1, -1, -1):
        box = signer_region(pages_lines[index])
        if box is None:
            continue
        words = tuple(reocr(usable[index].page, box))
        if not words:
            return None
        page = usable[index]
        lines = build_lines(PageResult(page=page.page, width=page.width, height=page.height, words=words), index)
        name, position = find_signer([lines])
        return name, position
    return None


def extract_metadata(
    pages: Sequence[PageResult], *, dossier_id: str | None = None, today: dt.date | None = None,
    reocr: Reocr | None = None,
) -> tuple[Metadata, tuple[str, ...]]:
    """Decree 30 metadata of one document from its pages' OCR words, and the review reasons.

    Returns the metadata (each field with its confidence and, when doubtful, a reason) and the review
    reasons; an empty tuple means no review is needed. ``reocr(page, box)``, when given, OCRs a
    region of a page again (``page`` is the PageResult's page number; box in page pixels)
    and returns its words in page coordinates: it is asked for the signature block when the first
    reading of the signer's name is missing or doubtful (seals and signatures over the name).
    """
    usable = [p for p in pages if p.words and not p.failed]
    all_text = "\n".join(p.text for p in pages)
    personal = validate.contains_personal_id(all_text)
    if not usable:
        md = Metadata(contains_personal_id=personal)
        md = replace(md, **{n: Field(None, 0.0, f"{n}: no OCR text") for n in _REQUIRED})
        return validate.review(md, dossier_id=dossier_id, today=today, doc_type=None)
    sk = skeleton(usable[0], 0)
    pages_lines: list[Sequence[Line]] = [sk.lines]
    for i, p in enumerate(usable[1:], start=1):
        pages_lines.append(build_lines(p, i))
    doc_type_f = find_doc_type(sk)
    doc_type = doctypes.by_name(doc_type_f.value)
    number_f = find_number(sk, doc_type)
    if doc_type is None and number_f.value:
        parsed = validate.parse_number(number_f.value)
        guess = None
        if parsed and parsed.symbol:  # "115/CV-PA83", "368-CV/BPTT": CV is a công văn
            guess = doctypes.CONG_VAN if parsed.symbol[0] == "CV" else doctypes.by_abbreviation(parsed.symbol[0])
        if guess is not None:
            doc_type = guess
            doc_type_f = _Found(guess.name, 0.5, "doc_type: no heading, inferred from the number's symbol")
    date_f, place_f = find_date_place(sk, pages_lines)
    if getattr(reocr, "image_of", None) is not None:  # the number and the day filled in by pen
        from digitize.document import handwriting_fill

        number_f, date_f = handwriting_fill.recheck(number_f, date_f, reocr, usable[0], sk)
    issuer_f = check_issuer_locality(find_issuer(sk, number_f.line, pages_lines))
    summary_f = find_summary(sk, doc_type, number_f.line)
    if summary_f.value:
        summary_f = replace(summary_f, value=respell_places(summary_f.value))
    signer_f, position_f = find_signer(pages_lines)
    if reocr is not None and (signer_f.value is None or signer_f.reason or signer_f.conf < validate.MIN_CONFIDENCE):
        again = _second_look(reocr, pages_lines, usable)
        if again is not None and again[0].value and (
            signer_f.value is None or (again[0].reason is None and again[0].conf >= signer_f.conf)
            or (bool(signer_f.reason) == bool(again[0].reason) and again[0].conf > signer_f.conf)
        ):
            signer_f = again[0]
            if again[1].value and not position_f.value:
                position_f = again[1]
    place_f = _agree_place_issuer(place_f, issuer_f, pages_lines)
    md = Metadata(
        doc_type=doc_type_f.field(),
        number=number_f.field(),
        issued_date=date_f.field(),
        issuer=issuer_f.field(),
        place=place_f.field(),
        summary=summary_f.field(),
        signer=signer_f.field(),
        signer_position=position_f.field(),
        contains_personal_id=personal,
    )
    log.debug("extracted %s number=%s date=%s", md.doc_type.value, md.number.value, md.issued_date.value)
    return validate.review(md, dossier_id=dossier_id, today=today, doc_type=doc_type)


_REQUIRED = ("doc_type", "number", "issued_date", "issuer", "place", "signer")


def respell_places(text: str) -> str:
    """Respell the administrative units a sentence names ("tại thị trân Đồng Hưng" -> "tại thị trấn
    Đông Hưng") when the unit word and the name, read without diacritics, match exactly one unit of
    that type. Anything else is left as read."""
    from digitize.text import gazetteer

    tokens = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        done = False
        for n_unit in (2, 1):
            unit_key = fold(" ".join(tokens[i : i + n_unit])).strip(",.;:")
            unit = _UNIT_WORDS.get(unit_key) if len(unit_key) > 2 else None
            if unit is None:
                continue
            for n_name in (3, 2, 1):
                name = list(tokens[i + n_unit : i + n_unit + n_name])
                tail = name[-1][len(name[-1].rstrip(",.;:)")):] if name else ""
                if tail:
                    name[-1] = name[-1][: -len(tail)]
                if len(name) < n_name or not all(w[:1].isupper() and w.isalpha() for w in name):
                    continue
                found = gazetteer.lookup(" ".join(name), unit)
                if found.status not in ("exact", "corrected"):
                    continue
                read = " ".join(tokens[i : i + n_unit])
                if canonical(read).lower() == unit:
                    unit_text = read  # spelled right: keep its case ("Thị Trấn")
                else:
                    unit_text = unit if read[:1].islower() else capitalize_first(unit)
                out += [*unit_text.split(" "), *found.name.split(" ")]
                out[-1] += tail
                i += n_unit + n_name
                done = True
                break
            if done:
                break
        if not done:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def check_issuer_locality(issuer: _Found) -> _Found:
    """Check the issuer's locality against the list of administrative units: a name that OCR spelled
    wrongly but whose letters match exactly one unit of that type is respelled ("huyện Đồng Hưng" ->
    "huyện Đông Hưng"); a name that matches no unit at all is kept, doubtful, with a reason."""
    from digitize.text import gazetteer

    if not issuer.value:
        return issuer
    _head, unit, loc = _split_locality(issuer.value)
    words = loc.split() if loc else []
    if not unit or not loc or not 1 <= len(words) <= 4 or not all(w.isalpha() for w in words):
        return issuer  # not a plain "<unit> <Name>" (a branch office, a glued reading): nothing to check
    found = gazetteer.lookup(loc, unit)
    if found.status == "corrected" and issuer.value.endswith(loc):
        return replace(issuer, value=issuer.value[: -len(loc)] + found.name)
    if found.status == "unknown":
        why = issuer.reason or f"issuer: '{loc}' is not the name of any {unit}"
        return replace(issuer, conf=min(issuer.conf, 0.6), reason=why)
    return issuer


def _agree_place_issuer(place: _Found, issuer: _Found, pages_lines: Sequence[Sequence[Line]]) -> _Found:
    """The place is the issuing body's locality on these documents: repair a damaged or partly read
    place with the locality's spelling ("Đố Hưng" -> "Đông Hưng", "Thư" -> "Vũ Thư"), and fall back
    on the locality, flagged, when the date line's place could not be read."""
    from rapidfuzz.distance import Levenshtein

    if not issuer.value:
        return place
    _head, unit, loc = _split_locality(issuer.value)
    if not unit or not loc:
        return place
    if not place.value:
        return _Found(loc, min(issuer.conf, 0.6), "place: unreadable, taken from the issuer's locality")
    a, b = fold(place.value).replace(" ", ""), fold(loc).replace(" ", "")
    if a == b and canonical(place.value) == loc:
        return place
    close = a == b or (len(b) >= 5 and Levenshtein.distance(a, b) <= 2) or (len(a) >= 2 and b.endswith(a))
    if not close:
        return place
    return _Found(loc, max(place.conf, min(issuer.conf, 0.85)), place.reason, line=place.line)


# --- portal names ---------------------------------------------------------------------------------


def official_metadata(md: Metadata, *, page_amount: int, dossier_id: str | None) -> dict:
    """The metadata under the names the service portal uses (TypeName, CodeNumber, CodeNotation, …)."""
    number = md.number.value
    code_number = code_notation = None
    if number:
        parsed = validate.parse_number(number)
        if parsed is not None:
            code_number, code_notation = parsed.number, parsed.code_notation or None
        else:
            code_number = number
    return {
        "DossierCode": dossier_id,
        "TypeName": md.doc_type.value,
        "CodeNumber": code_number,
        "CodeNotation": code_notation,
        "IssuedDate": md.issued_date.value,
        "OrganName": md.issuer.value,
        "Subject": md.summary.value,
        "PageAmount": page_amount,
        "Position": md.signer_position.value,
        "FullName": md.signer.value,
    }
