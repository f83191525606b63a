"""Text folding for search: Vietnamese without diacritics, lower case, single spaces.

"Quyết định cấp phép" and "quyet dinh cap phep" fold to the same string, so a clerk typing
without diacritics still finds the document. The index keeps a folded and a lower-cased copy of
each document's searchable words (see :func:`search_columns`); search ranks exact-diacritic
matches above folded ones (storage/search.py). Only the standard library is used: the index imports this module.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")


def _fold_table() -> dict[int, str | None]:
    """Precomposed Latin letters -> base letters; combining marks -> nothing; đ/Đ -> d/D (C-speed translate)."""
    table: dict[int, str | None] = {}
    for block in (range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        for cp in block:
            ch = chr(cp)
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn")
            if base and base != ch:
                table[cp] = base
    for cp in range(0x0300, 0x0370):
        table[cp] = None
    table.update({ord("đ"): "d", ord("Đ"): "D", ord("ð"): "d", ord("Ð"): "D"})
    return table


_FOLD = _fold_table()

SEARCH_FIELDS = ("doc_type", "number", "issuer", "place", "summary", "signer")


def lower(text: str) -> str:
    """NFC, lower case, whitespace collapsed: the "exact diacritics" form."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()


def fold(text: str) -> str:
    """Lower case without diacritics (đ becomes d), whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).translate(_FOLD).lower()).strip()


def words(text: str) -> list[str]:
    """The words (runs of letters and digits) of a text in the exact-lower form: what the full-text
    index holds and a query is cut into ("Số: 45/GPXD" -> ["số", "45", "gpxd"])."""
    return _WORD.findall(lower(text))


PAIR_EXACT, PAIR_FOLDED = "\u01c2", "\u01c1"  # letters (ǂ, ǁ) no word holds: join the two words of a pair


def pairs(ws: list[str], sep: str) -> list[str]:
    """Adjacent word pairs as single tokens ("quyết", "định" -> "quyếtǂđịnh"): a phrase is found by
    its pairs, without reading word positions."""
    return [f"{a}{sep}{b}" for a, b in zip(ws, ws[1:], strict=False)]


def search_text(values: dict[str, str | None], text: str, dossier_id: str | None = None) -> str:
    """The searchable text of a document: its metadata values, dossier code and OCR text."""
    parts = [values.get(k) or "" for k in SEARCH_FIELDS]
    parts.append(dossier_id or "")
    parts.append(text)
    return " \n ".join(p for p in parts if p)


def search_columns(values: dict[str, str | None], text: str, dossier_id: str | None = None) -> dict[str, str]:
    """The index's search columns for a document: its words exact-lower and folded (one space between
    words, so every back-end's tokeniser cuts them the same way), the folded type and issuer."""
    ws = words(search_text(values, text, dossier_id))
    folded = [fold(w) for w in ws]
    return {
        "search_lower": " ".join(ws),
        "search_folded": " ".join(folded),
        "search_pairs": " ".join(dict.fromkeys(pairs(ws, PAIR_EXACT) + pairs(folded, PAIR_FOLDED))),
        "doc_type_folded": fold(values.get("doc_type") or ""),
        "issuer_folded": fold(values.get("issuer") or ""),
    }


def tokens(query: str) -> list[str]:
    """The words of a query, in the exact-lower form (folding is applied by the caller)."""
    return [t for t in lower(query).split(" ") if t]
