"""The review station speaks Vietnamese: every reason extraction and validation write for a field has a
Vietnamese text (a clerk never reads "lý do khác" for a reason the machine knows)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digitize.api.review.texts import doc_reason, field_reason

ROOT = Path(__file__).resolve().parent.parent
FIELD = r"(?:doc_type|number|issued_date|issuer|place|summary|signer|signer_position)"


def _literal_reasons() -> list[str]:
    """The field reasons written as plain string literals in the extraction code ("signer: …")."""
    found: set[str] = set()
    for path in (ROOT / "digitize" / "document").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(rf'(?<![f\w])"({FIELD}: [^"{{}}]*[^"{{}}\s])"', text):  # not a prefix ending in a space
            found.add(m.group(1))
    return sorted(found)


LITERAL = _literal_reasons()

FORMATTED = [  # reasons built with values (f-strings in extraction and validation)
    "issuer: 'Bắc Giag' is not the name of any tỉnh",
    "number: unreadable (12 characters)",
    "number: Số chứng thực unreadable",
    "signer: 'Tân' is not a known surname",
    "signer: unusual name syllable 'Chỉnh'",
    "number: digits repaired in '1O3'",
    "number: type abbreviation 'QD' read as 'QĐ'",
    "number: '§' in the symbol read as a digit or a letter",
    "number: symbol 'SCT' names a document type but the document is a Công văn",
    "number: number 4 under 10 without its leading zero",
    "number: weak OCR (confidence 0.60)",
    "summary: 'V/v' not read; the lines under the number",
    "issuer: not read in the header; named by the number's symbol",
]


def test_the_extraction_code_writes_field_reasons() -> None:
    assert len(LITERAL) >= 25  # the scan of the source found them (a renamed folder would empty it)


@pytest.mark.parametrize("reason", LITERAL + FORMATTED)
def test_every_field_reason_reads_in_vietnamese(reason: str) -> None:
    text = doc_reason(reason)
    assert "lý do khác" not in text.lower(), reason
    assert not re.search(r"\b(?:not|read|the|found|unreadable|handwritten)\b", text), text  # no English left


def test_a_reason_with_its_values_keeps_them() -> None:
    assert field_reason("'Tân' is not a known surname") == "“Tân” không phải họ thường gặp"
    assert field_reason("unreadable (12 characters)") == "không đọc được (12 ký tự)"
    assert doc_reason("issued_date: read from the body text, not from the date line under the motto").startswith(
        "Ngày ban hành: lấy từ nội dung văn bản")
