"""A review batch: one scan (separator sheet, a two-page decision, a công văn, optionally a second
decision) and the machine "misreading" the decision's number, for the review tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from PIL import Image

from digitize.models import Field
from digitize.samples import sheets as S
from digitize.samples.documents import DocSpec, cong_van, render, save_pdf
from storage.index import Index

DPI = 200
D1 = "000.00.13.H56-210615-0001"
WRONG = "128/QĐ-UBND"  # what the test makes the machine have "misread" for 123/QĐ-UBND


def make_batch(root: Path, *, second_decision: bool = False) -> Path:
    """One scan: separator sheet for D1, a two-page decision (123/QĐ-UBND), a one-page công văn, and
    (``second_decision``) a one-page decision 45/QĐ-UBND."""
    root.mkdir(parents=True, exist_ok=True)
    qd = render(DocSpec(extra_pages=1), dpi=DPI)
    cv = render(cong_van(), dpi=DPI)
    sep = Image.fromarray(S.separator(D1, dpi=DPI).image)
    more = render(DocSpec(number="45/QĐ-UBND", date=dt.date(2021, 7, 2), summary="Về việc cấp giấy phép "
                          "kinh doanh cho hộ bà Trần Thị Lan"), dpi=DPI).pages if second_decision else []
    save_pdf([sep, *qd.pages, *cv.pages, *more], root / "hop-01.pdf", dpi=DPI)
    return root


def misread(index: Index, doc_id: str) -> None:
    """Make the decision look as OCR that misread its number would leave it (flagged, weak confidence)."""
    doc = index.get_document(doc_id)
    md = dataclasses.replace(doc.metadata, number=Field(WRONG, 0.61, "weak OCR (confidence 0.61)"))
    index.update_document(dataclasses.replace(doc, metadata=md, needs_review=True,
                                              reasons=("number: weak OCR (confidence 0.61)",)),
                          who="test", action="test-setup", detail={})
