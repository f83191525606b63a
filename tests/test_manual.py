"""Manual fixes (assign, split, merge) over a real SQLite index, with history."""

from __future__ import annotations

from pathlib import Path

import pytest

from digitize.errors import DossierCodeError, NotFoundError
from digitize.handoff import manual
from digitize.models import Document, Field, Metadata
from digitize.pipeline.page import document_id
from storage.index import Index

SHA = "ab" * 32
A = "000.00.13.H56-210615-0001"
B = "38.98.H29-210519-0013"


def _doc(pages: tuple[int, ...], *, dossier: str | None = None, reasons: tuple[str, ...] = ()) -> Document:
    return Document(
        doc_id=document_id(SHA, pages), sha256=SHA, source="batch.pdf", pages=pages, kind="result",
        dossier_id=dossier, dossier_source="separator" if dossier else None,
        metadata=Metadata(number=Field("12/QĐ-UBND", 0.9)), text="\f".join(f"text of page {p}" for p in pages),
        needs_review=bool(reasons), reasons=reasons, pdf_key=f"documents/{pages[0]}/document.pdf",
        text_key=f"documents/{pages[0]}/document.txt", pdf_sha256="cd" * 32)


@pytest.fixture
def index(tmp_path: Path) -> Index:
    ix = Index.from_url(f"sqlite:///{tmp_path / 'index.db'}")
    ix.upsert_file(SHA, source="batch.pdf", size=1, kind="pdf", page_count=9, status="done")
    ix.replace_documents(SHA, [_doc((2, 3, 4, 5), reasons=("no dossier code found (no separator sheet)",)),
                               _doc((7,), dossier=A), _doc((8, 9), dossier=A)])
    return ix


def test_assign_sets_the_code_clears_code_reasons_and_keeps_history(index: Index) -> None:
    doc_id = document_id(SHA, (2,))
    doc = manual.assign(index, doc_id, B, who="clerk1")
    stored = index.get_document(doc_id)
    assert stored == doc
    assert (stored.dossier_id, stored.dossier_source, stored.needs_review, stored.reasons) == (B, "manual", False, ())
    [entry] = index.history_of(doc_id)
    assert (entry["action"], entry["who"], entry["detail"]["from"], entry["detail"]["to"]) == ("assign", "clerk1",
                                                                                            None, B)
    assert entry["at"] is not None


def test_assign_validates(index: Index) -> None:
    with pytest.raises(DossierCodeError):
        manual.assign(index, document_id(SHA, (2,)), "000.00.13.H56-211315-0001", who="clerk1")
    with pytest.raises(NotFoundError):
        manual.assign(index, "nope", A, who="clerk1")
    with pytest.raises(manual.ManualFixError):
        manual.assign(index, document_id(SHA, (2,)), A, who=" ")
    assert index.history_of(document_id(SHA, (2,))) == []


def test_split_makes_two_documents_and_marks_pdf_rebuild(index: Index) -> None:
    first, second = manual.split(index, document_id(SHA, (2,)), 4, who="clerk2")
    assert (first.doc_id, first.pages, second.pages) == (document_id(SHA, (2,)), (2, 3), (4, 5))
    assert second.doc_id == document_id(SHA, (4,))
    assert first.text == "text of page 2\ftext of page 3" and second.text == "text of page 4\ftext of page 5"
    assert first.metadata.number.value == "12/QĐ-UBND" and second.metadata.number.value is None
    for d in (first, second):
        assert d.pdf_key is None and d.text_key is None and manual.PDF_REBUILD in d.reasons and d.needs_review
        assert index.get_document(d.doc_id) == d
        assert [h["action"] for h in index.history_of(d.doc_id)] == ["split"]
    assert [d.pages for d in index.list_documents(sha256=SHA)] == [(2, 3), (4, 5), (7,), (8, 9)]


@pytest.mark.parametrize(("page", "why"), [(2, "first page"), (7, "not in document"), (99, "not in document")])
def test_split_validates(index: Index, page: int, why: str) -> None:
    with pytest.raises(manual.ManualFixError, match=why):
        manual.split(index, document_id(SHA, (2,)), page, who="clerk2")


def test_merge_joins_pages_in_order_and_deletes_the_rest(index: Index) -> None:
    merged = manual.merge(index, [document_id(SHA, (8,)), document_id(SHA, (7,))], who="clerk3")
    assert (merged.doc_id, merged.pages, merged.dossier_id) == (document_id(SHA, (7,)), (7, 8, 9), A)
    assert merged.text == "text of page 7\ftext of page 8\ftext of page 9"
    assert manual.PDF_REBUILD in merged.reasons and merged.pdf_key is None
    assert [d.doc_id for d in index.list_documents(sha256=SHA)] == [document_id(SHA, (2,)), merged.doc_id]
    with pytest.raises(NotFoundError):
        index.get_document(document_id(SHA, (8,)))
    assert [h["action"] for h in index.history_of(document_id(SHA, (8,)))] == ["merge"]  # kept after deletion


def test_merge_validates(index: Index) -> None:
    d2, d7 = document_id(SHA, (2,)), document_id(SHA, (7,))
    with pytest.raises(manual.ManualFixError, match="at least two"):
        manual.merge(index, [d7], who="c")
    with pytest.raises(manual.ManualFixError, match="named twice"):
        manual.merge(index, [d7, d7], who="c")
    manual.assign(index, d2, B, who="c")
    with pytest.raises(manual.ManualFixError, match="different dossiers"):
        manual.merge(index, [d2, d7], who="c")
    with pytest.raises(NotFoundError):
        manual.merge(index, [d7, "missing"], who="c")
    assert len(list(index.list_documents(sha256=SHA))) == 3
