"""Dossier codes (mã hồ sơ): parsing, validation, and finding them in OCR text and file names.

Two forms are valid (docs/contracts.md, contract 4):

- legacy ``<agency>-<yymmdd>-<seq>``, e.g. ``000.00.13.H56-210615-0001`` or ``38.98.H29-210519-0013``.
  The agency is the electronic identifier of Decision 20/2020/QĐ-TTg: dot-separated numeric groups of
  the lower levels (2-3 digits each) ending with the level-1 group, a capital letter and two digits
  (``H56`` = a province, ``G12`` = a ministry).
- 2026 ``<e-ID>-<yymmdd>-<AA><seq>`` (Circular 03/2025/TT-VPCP as amended by 04/2025/TT-VPCP), e.g.
  ``H26.107.01-260203-010023``: the e-ID starts with the level-1 group and is followed by numeric
  groups; the last part is a two-digit ``AA`` followed by the sequence number.

The two agency shapes cannot be confused (the letter group ends one and starts the other), so the
form is decided by the agency alone. ``yymmdd`` must be a real calendar date (20yy).

Barcodes, QR payloads and file names are taken exactly. OCR text is corrected for the usual
confusions (O/0, l/1/I, S/5, B/8, dropped, doubled or misread dots, stray spaces) and a corrected
string is accepted only when it then parses.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from digitize.errors import DossierCodeError
from digitize.text.vntext import fold

_LEGACY_AGENCY = r"(?:\d{2,3}\.){1,3}[A-Z]\d{2}"
_EID = r"[A-Z]\d{2}(?:\.\d{1,3}){1,3}"
_DATE = r"\d{6}"
_LEGACY_SEQ = r"\d{4,6}"
_NEW_TAIL = r"\d{2}\d{4,6}"

_LEGACY_RE = re.compile(rf"(?P<agency>{_LEGACY_AGENCY})-(?P<date>{_DATE})-(?P<seq>{_LEGACY_SEQ})")
_NEW_RE = re.compile(rf"(?P<agency>{_EID})-(?P<date>{_DATE})-(?P<aa>\d{{2}})(?P<seq>\d{{4,6}})")
# Any valid code, for exact search in a longer string (file names): not glued to other code characters.
_EXACT_ANY = re.compile(
    rf"(?<![0-9A-Za-z.])(?:{_LEGACY_AGENCY}-{_DATE}-{_LEGACY_SEQ}|{_EID}-{_DATE}-{_NEW_TAIL})(?![0-9A-Za-z])"
)

Form = Literal["legacy", "2026"]


@dataclass(frozen=True)
class DossierCode:
    """A parsed dossier code; ``code`` is the exact canonical string."""

    code: str
    agency: str  # legacy agency identifier, or the 2026 e-ID
    date: dt.date  # the yymmdd part (the day the dossier was received)
    seq: str  # sequence number, as printed (leading zeros kept)
    form: Form
    aa: str | None = None  # the two-digit AA part of the 2026 form; None for legacy codes

    def __str__(self) -> str:
        return self.code


def _date(part: str, code: str) -> dt.date:
    try:
        return dt.date(2000 + int(part[:2]), int(part[2:4]), int(part[4:6]))
    except ValueError:
        raise DossierCodeError(
            f"{code!r} is not a dossier code: date part {part!r} is not a real date (expected yymmdd)"
        ) from None


def _explain(code: str) -> str:
    """Why a string is not a dossier code, in words a clerk can act on."""
    if not code:
        return "empty dossier code"
    if code != code.strip():
        return f"{code!r} is not a dossier code: remove the spaces around it"
    if re.search(r"\s", code):
        return f"{code!r} is not a dossier code: it contains spaces"
    parts = code.split("-")
    if len(parts) != 3:
        return (f"{code!r} is not a dossier code: expected three parts separated by '-' "
                f"(<agency>-<yymmdd>-<number>), found {len(parts)}")
    agency, date, tail = parts
    if not (re.fullmatch(_LEGACY_AGENCY, agency) or re.fullmatch(_EID, agency)):
        return (f"{code!r} is not a dossier code: agency part {agency!r} is not an agency identifier "
                "(e.g. 000.00.13.H56, 38.98.H29 or the 2026 e-ID H26.107.01)")
    if not re.fullmatch(_DATE, date):
        return f"{code!r} is not a dossier code: date part {date!r} must be 6 digits (yymmdd)"
    if re.fullmatch(_LEGACY_AGENCY, agency):
        return f"{code!r} is not a dossier code: number part {tail!r} must be 4 to 6 digits"
    return f"{code!r} is not a dossier code: last part {tail!r} must be 2 digits (AA) followed by 4 to 6 digits"


def parse(code: str) -> DossierCode:
    """Parse a dossier code exactly as given; raise DossierCodeError naming what is wrong."""
    if not isinstance(code, str):
        raise DossierCodeError(f"{code!r} is not a dossier code: expected text")
    m = _LEGACY_RE.fullmatch(code)
    if m:
        return DossierCode(code=code, agency=m["agency"], date=_date(m["date"], code), seq=m["seq"],
                           form="legacy")
    m = _NEW_RE.fullmatch(code)
    if m:
        return DossierCode(code=code, agency=m["agency"], date=_date(m["date"], code), seq=m["seq"],
                           form="2026", aa=m["aa"])
    raise DossierCodeError(_explain(code))


def is_valid(code: str) -> bool:
    """True when ``code`` is exactly a valid dossier code (no correction applied)."""
    try:
        parse(code)
    except DossierCodeError:
        return False
    return True


# --- OCR text -------------------------------------------------------------------------------------------

_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "U": "0", "l": "1", "I": "1", "i": "1",
                           "|": "1", "!": "1", "L": "1", "j": "1", "S": "5", "s": "5", "B": "8", "Z": "2",
                           "z": "2", "G": "6", "g": "9", "q": "9", "T": "7"})
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"})
_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212~_"
_DIGITISH = "0-9OoDQUlIi|!LjSsBZzGgqT"
# A loose candidate: agency-ish run, a dash, date-ish run, a dash, number-ish run (spaces tolerated).
_CANDIDATE = re.compile(
    rf"(?P<agency>[0-9A-Za-z|!][0-9A-Za-z|!.,:;' ]{{2,24}}?)\s*[{_DASH}]\s*"
    rf"(?P<date>[{_DIGITISH}][{_DIGITISH} ]{{4,8}}?)\s*[{_DASH}]\s*"
    rf"(?P<tail>[{_DIGITISH}](?:[{_DIGITISH}]| (?=[{_DIGITISH}])){{3,10}})"
)
_MA_HO_SO = re.compile(r"\bm[a@4]\s*h[o0]\s*s[o0]\b")  # on folded text: "Mã hồ sơ", "Ma ho so", "Mã hổ sơ"
# Dot layouts of the lower agency levels when OCR lost the dots, by digit count.
_DOT_LAYOUTS = {7: (3, 2, 2), 5: (3, 2), 4: (2, 2), 6: (2, 2, 2), 8: (3, 3, 2)}


def _digits(s: str) -> str:
    return s.translate(_TO_DIGIT)


def _agency_variants(raw: str) -> list[str]:
    """Plausible agency spellings for an OCR'd agency part, most likely first."""
    s = re.sub(r"[ ']", "", raw)
    s = re.sub(r"[,:;]", ".", s)
    s = re.sub(r"\.{2,}", ".", s).strip(".")
    out: list[str] = []
    # legacy: lower levels (digits) then a letter and two digits
    m = re.fullmatch(r"(?P<low>[0-9A-Za-z|!.]*?)\.?(?P<l>[A-Za-z0-9])(?P<n>[0-9A-Za-z|!]{2})", s)
    if m:
        letter = m["l"].upper().translate(_TO_LETTER)
        tail = letter + _digits(m["n"])
        low = _digits(m["low"])
        if re.fullmatch(r"[0-9.]+", low or "x"):
            groups = [g for g in low.split(".") if g]
            out.append(".".join([*groups, tail]))
            flat = "".join(groups)
            layout = _DOT_LAYOUTS.get(len(flat))
            if layout:
                parts, i = [], 0
                for n in layout:
                    parts.append(flat[i:i + n])
                    i += n
                out.append(".".join([*parts, tail]))
    # 2026: a letter and two digits, then numeric groups
    m = re.fullmatch(r"(?P<l>[A-Za-z0-9])(?P<n>[0-9A-Za-z|!]{2})\.(?P<rest>[0-9A-Za-z|!.]+)", s)
    if m:
        rest = _digits(m["rest"])
        if re.fullmatch(r"[0-9.]+", rest):
            out.append(m["l"].upper().translate(_TO_LETTER) + _digits(m["n"]) + "." + rest)
    return list(dict.fromkeys(out))


def _candidates_in(line: str) -> list[str]:
    """Valid codes obtainable from one line by correcting OCR confusions, in reading order."""
    found: list[str] = []
    for m in _CANDIDATE.finditer(line):
        agency_raw = m["agency"]
        date = _digits(m["date"].replace(" ", ""))
        tail = _digits(m["tail"].replace(" ", ""))
        # The agency match may have swallowed leading words ("Ma ho so: 000..."): keep the longest run of
        # trailing tokens that each hold a digit (or only punctuation), so label words never become digits.
        tokens = agency_raw.split(" ")
        k = len(tokens)
        while k > 0 and (re.search(r"\d", tokens[k - 1]) or not re.sub(r"[.,:;']", "", tokens[k - 1])):
            k -= 1
        code = _first_valid(_agency_variants(" ".join(tokens[k:])), date, tail)
        if code:
            found.append(code)
    return found


def _first_valid(agencies: list[str], date: str, tail: str) -> str | None:
    for agency in agencies:
        for end in range(len(tail), 3, -1):  # drop trailing junk glued to the number
            code = f"{agency}-{date}-{tail[:end]}"
            if is_valid(code):
                return code
    return None


def has_label(line: str) -> bool:
    """True when a line carries the "Mã hồ sơ" label (diacritics and case ignored)."""
    return bool(_MA_HO_SO.search(fold(line)))


def _scan(text: str) -> tuple[list[str], list[str]]:
    lines = unicodedata.normalize("NFC", text or "").splitlines()
    labelled: list[str] = []
    others: list[str] = []
    for i, line in enumerate(lines):
        codes = _candidates_in(line)
        near_label = has_label(line) or (i > 0 and has_label(lines[i - 1]) and not _candidates_in(lines[i - 1]))
        (labelled if near_label else others).extend(codes)
    return list(dict.fromkeys(labelled)), list(dict.fromkeys(others))


def find_in_text(text: str) -> list[str]:
    """Dossier codes in OCR text, corrected for common OCR confusions and validated.

    Codes on a "Mã hồ sơ" line (or the line right after one) come first; duplicates are removed.
    """
    labelled, others = _scan(text)
    return list(dict.fromkeys([*labelled, *others]))


def find_labelled(text: str) -> list[str]:
    """Only the codes on a "Mã hồ sơ" line (or the line right after one), corrected and validated."""
    return _scan(text)[0]


def from_filename(name: str) -> str | None:
    """The dossier code in a file name (exact, e.g. ``000.00.13.H56-210615-0001.pdf``), or None."""
    base = re.split(r"[\\/]", name)[-1]
    for m in _EXACT_ANY.finditer(base):
        if is_valid(m.group(0)):
            return m.group(0)
    return None
