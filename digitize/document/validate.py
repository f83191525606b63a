"""Validation of extracted metadata: number and date parsers, Decree 30 rules, personal-ID detection.

Everything here is pure and works on strings: the parsers repair the OCR damage that is unambiguous
("QD" -> "QĐ", "2O24" -> "2024", spaces inside a number) and say what they could not trust. Review
reasons are short strings "<field>: <why>"; an empty list means the value can be trusted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from digitize.models import Field, Metadata
from digitize.text.doctypes import DocType, abbreviations, by_abbreviation, repair_abbreviation
from digitize.text.vntext import collapse, fold

EARLIEST_DATE = dt.date(1945, 9, 2)  # the state that issues these documents
MIN_CONFIDENCE = 0.80  # a field read below this needs a clerk's look

# OCR confusions inside digit runs: letters that are really digits.
_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "i": "1", "|": "1", "!": "1", "]": "1",
                            "Z": "2", "z": "2", "S": "5", "B": "8"})
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "_": "-", "\u2010": "-", "\u2011": "-",
                         "\u2044": "/", "\u2215": "/"})  # and the fraction and division slashes OCR may give


def _digits(token: str) -> str | None:
    """A token read as digits, repairing letter/digit confusions; None when it is not a number."""
    token = token.strip(" .,;:")
    if not token:
        return None
    fixed = token.translate(_DIGIT_FIX)
    if not fixed.isdigit():
        return None
    # A token that is mostly letters is a word, not a damaged number ("lO" stays a word).
    if len(token) > 2 and sum(ch.isdigit() for ch in token) * 2 < len(token):
        return None
    return fixed


# --- numbers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedNumber:
    """A document number "123/QĐ-UBND" or "163/2025/QĐ-CTUBND" split into its parts."""

    number: str  # "123" as printed (leading zero kept)
    year: str | None  # "2025" when the number carries the year (normative documents)
    symbol: tuple[str, ...]  # ("QĐ", "UBND"): the symbol's parts in order
    issues: tuple[str, ...] = ()  # what the parser had to doubt
    party: bool = False  # the Party's notation "368-CV/BPTT": type after a dash, the body after the slash
    year_sep: str = "/"  # "." on older papers that join the year to the number ("19.2012/GPXD")

    @property
    def text(self) -> str:
        """The normalised number: "123/QĐ-UBND" (no spaces, "/" and "-" as in Decree 30)."""
        if self.party:
            return f"{self.number}-{self.symbol[0]}/{'-'.join(self.symbol[1:])}"
        head = f"{self.number}{self.year_sep}{self.year}" if self.year else self.number
        return f"{head}/{'-'.join(self.symbol)}" if self.symbol else head

    @property
    def code_notation(self) -> str:
        """The part after the number ("QĐ-UBND", "2025/QĐ-CTUBND") as the portal calls CodeNotation."""
        if self.party:
            return f"{self.symbol[0]}/{'-'.join(self.symbol[1:])}"
        parts = [self.year] if self.year else []
        if self.symbol:
            parts.append("-".join(self.symbol))
        return "/".join(parts)


_SYMBOL_PART = re.compile(r"^[A-Za-zĐđ][A-Za-zĐđ0-9]*$")


def parse_number(text: str, doc_type: DocType | None = None) -> ParsedNumber | None:
    """Parse a printed document number; None when it does not have the Decree 30 shape.

    Accepts OCR-spaced forms ("123 / QĐ - UBND"), en dashes, a trailing full stop, letters read for
    digits in the number part ("1O3") and type abbreviations without diacritics ("QD" -> "QĐ" when
    that is the only abbreviation it can be). The symbol's first part is checked against ``doc_type``
    by :func:`check_number_type`, not here.
    """
    s = collapse(text).translate(_DASHES)
    s = re.sub(r"\s*([/-])\s*", r"\1", s).replace(" ", "").strip(".,;:")
    s = re.sub(r"^([0-9OoIl]{1,6}/(?:19|20)\d\d)(?=[A-ZĐ])", r"\1/", s)  # "01/2016TTLT-…": the year's slash lost
    year_sep = "/"
    dotted = re.match(r"^([0-9OoIl]{1,6})\.((?:19|20)\d\d)/(?=[A-Za-zĐđ])", s)
    if dotted:  # "19.2012/GPXD": older papers join the year to the number with a full stop; kept as printed
        s, year_sep = f"{dotted.group(1)}/{dotted.group(2)}/{s[dotted.end():]}", "."
    party = _PARTY_NUMBER.match(s)
    if party:
        return _parse_party_number(party, doc_type)
    if "/" not in s:
        return None
    head, _, tail = s.partition("/")
    issues: list[str] = []
    if "§" in tail:  # "PA§3": an 8 read as a section sign (never a symbol's character)
        tail = re.sub(r"§(?=\d)|(?<=\d)§", "8", tail).replace("§", "S")
        issues.append("'§' in the symbol read as a digit or a letter")
    number = _digits(head)
    if number is None or not 1 <= len(number) <= 6:
        return None
    if number != head:
        issues.append(f"digits repaired in {head!r}")
    year = None
    m = re.match(r"^([0-9OoIl]{4})/(.*)$", tail)
    if m and _digits(m.group(1)):
        year, tail = _digits(m.group(1)), m.group(2)
    parts = [p for p in tail.split("-")]
    if not parts or any(not _SYMBOL_PART.match(p) for p in parts):
        return None
    repaired: list[str] = []
    for i, part in enumerate(parts):
        if i == 0:
            fixed = repair_abbreviation(part, doc_type)
            if fixed is not None and fixed != part:
                issues.append(f"type abbreviation {part!r} read as {fixed!r}")
                part = fixed
            elif (fixed is None and part.upper() != part and by_abbreviation(part) is None
                  and not _is_mixed_abbreviation(part)):
                part = part.upper()  # an agency's mixed-case abbreviation ("TTg", "BCĐ") stays as printed
        elif part.upper() != part and not _is_mixed_abbreviation(part):
            part = part.upper()
        elif i > 0 and part != "UBND" and _one_stroke_more(part, "UBND"):
            issues.append(f"agency abbreviation {part!r} read as 'UBND'")  # "UIBND": a stroke read as a letter
            part = "UBND"
        repaired.append(part)
    return ParsedNumber(number=number, year=year, symbol=tuple(repaired), issues=tuple(issues),
                        year_sep=year_sep if year else "/")


def _one_stroke_more(read: str, known: str) -> bool:
    """``read`` is ``known`` with one letter more that a stroke makes ("I", "l", "1", "J"): "UIBND"."""
    return len(read) == len(known) + 1 and any(read[:i] + read[i + 1:] == known and read[i] in "IlJ1|"
                                               for i in range(len(read)))


_PARTY_NUMBER = re.compile(r"^([0-9OoIl]{1,5})-([A-Za-zĐđ]{1,5})/([A-Za-zĐđ][A-Za-zĐđ0-9]*(?:-[A-Za-zĐđ0-9]+)*)$")


def _parse_party_number(m: re.Match[str], doc_type: DocType | None) -> ParsedNumber | None:
    """ "368-CV/BPTT", "12-QĐ/TU": the notation of the Party's documents (Quy định 66-QĐ/TW)."""
    number = _digits(m.group(1))
    if number is None:
        return None
    issues = [f"digits repaired in {m.group(1)!r}"] if number != m.group(1) else []
    kind = m.group(2)
    fixed = repair_abbreviation(kind, doc_type)
    if fixed is not None and fixed != kind:
        issues.append(f"type abbreviation {kind!r} read as {fixed!r}")
        kind = fixed
    elif fixed is None and by_abbreviation(kind) is None:
        kind = kind.upper()
    body = tuple(p if _is_mixed_abbreviation(p) else p.upper() for p in m.group(3).split("-"))
    return ParsedNumber(number=number, year=None, symbol=(kind, *body), issues=tuple(issues), party=True)


def _is_mixed_abbreviation(part: str) -> bool:
    """Agency abbreviations may be mixed case ("UBND-ĐTr"); keep those with an upper first letter."""
    return part[:1].isupper()


def number_rule_issues(parsed: ParsedNumber) -> list[str]:
    """Decree 30 numbering rules the printed number breaks (leading zero under 10, none above)."""
    issues: list[str] = []
    n = int(parsed.number)
    if n == 0:
        issues.append("number is zero")
    elif n < 10 and len(parsed.number) != 2:
        issues.append(f"number {parsed.number} under 10 without its leading zero")
    elif n >= 10 and parsed.number.startswith("0"):
        issues.append(f"number {parsed.number} has a leading zero")
    return issues


def check_number_type(parsed: ParsedNumber, doc_type: DocType | None) -> list[str]:
    """Disagreements between the number's symbol and the document type (Decree 30 Appendix III)."""
    if doc_type is None or not parsed.symbol:
        return []
    first = parsed.symbol[0]
    known = set(abbreviations())
    if doc_type.abbreviation is None:
        if first in known and doc_type.kind == "cong_van":
            return [f"symbol {first!r} names a document type but the document is a {doc_type.name}"]
        return []
    if doc_type.abbreviation in parsed.symbol:
        return []
    if first in known:
        return [f"symbol {first!r} does not match {doc_type.name} ({doc_type.abbreviation})"]
    if fold(doc_type.abbreviation) in {fold(p) for p in parsed.symbol}:
        return []
    return [f"symbol has no {doc_type.abbreviation} for {doc_type.name}"]


# --- dates ----------------------------------------------------------------------------------------

_DATE_WORDS = re.compile(
    r"\bng\S{1,4}?\s*[:.]?\s*(?P<d>[0-9OoIl|!\]]{1,2})\s*[,.]?\s*"
    r"th\S{1,4}?\s*[:.]?\s*(?P<m>[0-9OoIl|!\]]{1,2})\W{0,3}(?:\S{1,2}\W{1,2})?"
    r"n\S{1,3}?\s*[:.]?\s*(?P<y>[0-9OoIl|!]{4})\b"
)


def parse_vn_date(text: str) -> dt.date | None:
    """The date in "ngày 01 tháng 3 năm 2024" (OCR-damaged diacritics and digits tolerated)."""
    m = _DATE_WORDS.search(fold(text))
    if not m:
        return None
    d, mo, y = (_digits(m.group(k)) for k in ("d", "m", "y"))
    if d is None or mo is None or y is None:
        return None
    try:
        return dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None


def date_issues(value: dt.date, *, dossier: dt.date | None = None, today: dt.date | None = None) -> list[str]:
    """Why a document date cannot be right: future, before 1945, before its dossier was received."""
    today = today or dt.date.today()
    issues: list[str] = []
    if value > today:
        issues.append(f"{value.isoformat()} is in the future")
    if value < EARLIEST_DATE:
        issues.append(f"{value.isoformat()} is before 1945")
    if dossier is not None and value < dossier:
        issues.append(f"{value.isoformat()} is before the dossier was received ({dossier.isoformat()})")
    return issues


_DOSSIER = re.compile(r"^(?P<agency>[A-Za-z0-9.]+)-(?P<ymd>\d{6})-(?P<seq>[A-Z]{0,2}\d{3,})$")


def dossier_date(code: str | None) -> dt.date | None:
    """The receipt date in a dossier code: legacy "<agency>-<yymmdd>-<seq>" or 2026 "<e-ID>-<yymmdd>-<AA><seq>"."""
    if not code:
        return None
    m = _DOSSIER.match(code.strip())
    if not m:
        return None
    ymd = m.group("ymd")
    try:
        return dt.date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        return None


# --- personal data --------------------------------------------------------------------------------

_ID_NUMBER = re.compile(r"(?<![\d/.,-])(\d{12}|\d{9})(?![\d/,-]|\.\d)")
_ID_LABEL = re.compile(r"(dinh danh|cccd|cmnd|can cuoc|chung minh)[^0-9\n]{0,30}([0-9 ]{9,16})")


def contains_personal_id(text: str) -> bool:
    """True when the text carries a 12-digit citizen ID (CCCD) or a 9-digit old ID number.

    Bare 12/9-digit runs count; so do labelled ones ("Số định danh cá nhân: 0342 1078 6632") that OCR
    split with spaces. The numbers themselves are never returned, so they cannot leak into logs.
    """
    if _ID_NUMBER.search(text):
        return True
    for m in _ID_LABEL.finditer(fold(text)):
        if len(m.group(2).replace(" ", "")) in (9, 12):
            return True
    return False


# --- review ---------------------------------------------------------------------------------------

REQUIRED_FIELDS = ("doc_type", "number", "issued_date", "issuer", "place", "signer")


def review(
    md: Metadata, *, dossier_id: str | None = None, today: dt.date | None = None, doc_type: DocType | None = None
) -> tuple[Metadata, tuple[str, ...]]:
    """Check extracted metadata; return it with per-field reasons filled in, and all review reasons.

    A field needs review when it is missing (required fields, and the summary of types that carry
    one), weak (confidence below :data:`MIN_CONFIDENCE`) or inconsistent (number symbol vs type,
    Decree 30 numbering, impossible or out-of-order dates).
    """
    reasons: dict[str, list[str]] = {}

    def add(name: str, why: str) -> None:
        text = why if why.startswith(f"{name}:") else f"{name}: {why}"
        if text not in reasons.setdefault(name, []):
            reasons[name].append(text)

    for name in (*REQUIRED_FIELDS, "summary"):
        f: Field = getattr(md, name)
        if f.value is None:
            required = name in REQUIRED_FIELDS or (
                doc_type is not None and doc_type.has_summary
                and doc_type.kind in ("administrative", "legal", "cong_van"))
            if required:
                add(name, f.reason or "missing")
            continue
        if f.reason:
            add(name, f.reason)
        if f.confidence < MIN_CONFIDENCE:
            add(name, f"weak OCR (confidence {f.confidence:.2f})")
    if md.number.value:
        parsed = parse_number(md.number.value, doc_type)
        if parsed is not None:
            for why in number_rule_issues(parsed) + check_number_type(parsed, doc_type):
                add("number", why)
        elif doc_type is None or doc_type.number_label == "Số":
            add("number", f"not in Decree 30 form: {md.number.value}")
    if md.issued_date.value:
        try:
            issued = dt.date.fromisoformat(md.issued_date.value)
        except ValueError:
            add("issued_date", f"not a date: {md.issued_date.value}")
        else:
            for why in date_issues(issued, dossier=dossier_date(dossier_id), today=today):
                add("issued_date", why)
    updates = {}
    for name, whys in reasons.items():
        f = getattr(md, name)
        updates[name] = Field(f.value, f.confidence, "; ".join(w.split(": ", 1)[1] for w in whys))
    md = replace(md, **updates)
    order = (*REQUIRED_FIELDS, "summary")
    return md, tuple(w for name in order for w in reasons.get(name, []))
