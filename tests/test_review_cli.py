"""``digitize fix`` / ``digitize approve`` on an archive made by ``digitize run``: validation in Vietnamese,
history, and what approving re-makes (metadata.json, index row, dossier manifest, publish key)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import pikepdf
import pytest

from digitize.cli import main
from digitize.handoff import publish, review
from digitize.models import Field
from digitize.pipeline.restore import stored_pdf_title
from storage import access, layout
from storage.index import Index
from storage.objects import LocalObjectStore
from tests.gen.reviewbatch import D1, WRONG, make_batch, misread


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive after ``digitize run`` on the batch (copied per test)."""
    base = tmp_path_factory.mktemp("review-batch")
    archive = base / "archive"
    assert main(["--archive", str(archive), "run", "--no-progress", "--jobs", "2", str(make_batch(base / "in"))]) == 0
    return archive


@pytest.fixture
def archive(processed: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "archive"
    shutil.copytree(processed, dst)
    return dst


def decision(index: Index) -> str:
    return next(d.doc_id for d in index.list_documents() if (d.metadata.doc_type.value or "") == "Quyết định")


def test_fix_validates_in_vietnamese_and_keeps_history(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    doc_id = decision(index)
    misread(index, doc_id)
    a = ["--archive", str(archive)]
    assert main([*a, "fix", doc_id, "number", "123/CV-UBND", "--who", "clerk1"]) == 2
    assert "không khớp loại văn bản Quyết định" in capsys.readouterr().err
    assert main([*a, "fix", doc_id, "issued_date", "31/12/2099", "--who", "clerk1"]) == 2
    assert "ở tương lai" in capsys.readouterr().err
    assert main([*a, "fix", doc_id, "issued_date", "01/01/2020", "--who", "clerk1"]) == 2
    assert "trước ngày tiếp nhận hồ sơ (15/06/2021)" in capsys.readouterr().err
    assert main([*a, "fix", doc_id, "color", "x", "--who", "clerk1"]) == 2
    assert index.get_document(doc_id).metadata.number.value == WRONG  # nothing changed
    assert main([*a, "fix", doc_id, "number", "123 / QĐ - UBND", "--who", "clerk1"]) == 0
    doc = index.get_document(doc_id)
    assert doc.metadata.number == Field("123/QĐ-UBND", 1.0, None)
    assert doc.needs_review and doc.reasons == ()  # the number's reason is gone; approval is still the clerk's
    last = index.history_of(doc_id)[-1]
    assert (last["action"], last["who"], last["detail"]) == ("review", "clerk1",
                                                             {"changes": {"number": [WRONG, "123/QĐ-UBND"]}})
    assert access.audit_entries(index, action="review")[0]["detail"]["via"] == "cli"


def test_approve_remakes_metadata_index_manifest_and_the_publish_key(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    doc_id = decision(index)
    misread(index, doc_id)
    before = index.get_document(doc_id)
    key_before = publish.idempotency_key(before.pdf_sha256 or "", before)
    a = ["--archive", str(archive)]
    assert main([*a, "fix", doc_id, "number", "123/QĐ-UBND", "--who", "clerk1"]) == 0
    assert main([*a, "approve", doc_id, "--who", "clerk1"]) == 0
    doc = index.get_document(doc_id)
    assert not doc.needs_review and doc.reasons == ()
    stored = json.loads(store.get_bytes(layout.document_key(doc_id, "metadata.json")))
    assert stored["metadata"]["number"] == "123/QĐ-UBND" and stored["needs_review"] is False
    assert stored["official"]["CodeNumber"] == "123"
    manifest = json.loads(store.get_bytes(layout.dossier_manifest_key(D1)))
    entry = next(d for d in manifest["documents"] if d["doc_id"] == doc_id)
    assert entry["needs_review"] is False and entry["pdf_sha256"] == doc.pdf_sha256
    assert hashlib.sha256(store.get_bytes(doc.pdf_key or "")).hexdigest() == doc.pdf_sha256  # re-made, recorded
    assert publish.idempotency_key(doc.pdf_sha256 or "", doc) != key_before
    # the key moves with the metadata alone, too
    same_pdf = dataclasses.replace(doc, metadata=dataclasses.replace(doc.metadata, summary=Field("khác", 1.0)))
    assert publish.idempotency_key(doc.pdf_sha256 or "", same_pdf) != publish.idempotency_key(doc.pdf_sha256 or "",
                                                                                              doc)
    assert [h["detail"].get("approved") for h in index.history_of(doc_id) if h["action"] == "review"][-1] is True


def test_approve_refuses_a_document_without_dossier_or_with_a_future_date(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    doc_id = decision(index)
    doc = index.get_document(doc_id)
    index.update_document(dataclasses.replace(doc, dossier_id=None), who="t", action="t", detail={})
    with pytest.raises(review.ReviewError, match="chưa có mã hồ sơ"):
        review.approve(index, store, doc_id, review.Actor("clerk1"))
    index.update_document(doc, who="t", action="t", detail={})
    with pytest.raises(review.ReviewError, match="ở tương lai"):
        review.approve(index, store, doc_id, review.Actor("clerk1"), today=dt.date(2021, 1, 1))
    assert index.get_document(doc_id).needs_review == doc.needs_review


def test_structure_fixes_remake_the_parts_and_keep_history(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    clerk = review.Actor("clerk1", "clerk", "127.0.0.1", via="station")
    doc_id = decision(index)
    pages = index.get_document(doc_id).pages
    assert len(pages) == 2
    doc = review.set_blank(index, store, doc_id, pages[1], True, clerk)
    assert doc.pages == pages[:1] and doc.pdf_key and doc.needs_review
    assert {r["page"]: r["kind"] for r in index.list_pages(doc.sha256)}[pages[1]] == "blank"
    doc = review.set_blank(index, store, doc_id, pages[1], False, clerk)
    assert doc.pages == pages and doc.pdf_key
    with pytest.raises(review.ReviewError, match="không phải trang trắng"):
        review.set_blank(index, store, doc_id, pages[0], False, clerk)
    other = next(d for d in index.list_documents() if d.doc_id != doc_id)
    merged = review.merge_previous(index, store, other.doc_id, clerk)
    assert merged.doc_id == doc_id and merged.pages == (*pages, *other.pages) and merged.pdf_key
    with pytest.raises(review.ReviewError, match="Không có văn bản nào đứng trước"):
        review.merge_previous(index, store, doc_id, clerk)
    with pytest.raises(review.ReviewError, match="Mã hồ sơ “ABC” không hợp lệ"):
        review.assign(index, store, doc_id, "ABC", clerk)
    review.assign(index, store, doc_id, "H26.107.01-260203-010023", clerk)
    manifest = json.loads(store.get_bytes(layout.dossier_manifest_key("H26.107.01-260203-010023")))
    assert [d["doc_id"] for d in manifest["documents"]] == [doc_id]
    actions = [h["action"] for h in index.history_of(doc_id)]
    assert {"blank", "not_blank", "merge", "assign", "remake"} <= set(actions)
    assert {a["action"] for a in access.audit_entries(index, who="clerk1")} >= {"blank", "merge", "assign"}


@pytest.mark.slow
def test_split_without_page_objects_gives_what_the_stored_pages_give(archive: Path, tmp_path: Path) -> None:
    """A distributed-style archive (no pages/ objects: ``digitize run`` drops them) splits as one made with
    ``--keep-pages``: the split-off part's metadata is extracted from its pages read again from the original,
    its PDF is taken out of the document's PDF."""
    kept = tmp_path / "kept"
    assert main(["--archive", str(kept), "run", "--no-progress", "--jobs", "2", "--keep-pages",
                 str(make_batch(tmp_path / "in"))]) == 0
    clerk = review.Actor("clerk1", "clerk", "127.0.0.1", via="station")
    parts = {}
    for where in (archive, kept):
        index = Index.from_url(f"sqlite:///{where / 'index.sqlite'}")
        store = LocalObjectStore(where / "objects")
        assert bool(list(store.list("pages/"))) == (where == kept)
        doc_id = decision(index)
        other = next(d for d in index.list_documents() if d.doc_id != doc_id)
        merged = review.merge_previous(index, store, other.doc_id, clerk)
        a, b = review.split(index, store, merged.doc_id, other.pages[0], clerk)
        assert b.pages == other.pages and b.pdf_key and review.manual.PDF_REBUILD not in b.reasons
        assert review.manual.METADATA_MISSING not in b.reasons
        with pikepdf.open(store.local_path(b.pdf_key)) as pdf:
            assert len(pdf.pages) == len(b.pages)
        assert hashlib.sha256(store.get_bytes(b.pdf_key)).hexdigest() == b.pdf_sha256
        parts[where] = (a.pages, b.metadata, b.reasons, b.text)
        index.close()
    assert parts[archive] == parts[kept]
    assert parts[archive][1].doc_type.value == "Công văn"


def test_approve_remakes_the_pdf_title_from_the_documents_own_pdf(archive: Path) -> None:
    """No page objects are kept: a fixed number changes the PDF's title, re-made from the document's PDF."""
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    assert not list(store.list("pages/"))
    doc_id = decision(index)
    before = index.get_document(doc_id)
    assert stored_pdf_title(store.get_bytes(before.pdf_key or "")) == "Quyết định 123/QĐ-UBND"
    review.fix(index, doc_id, "number", "124/QĐ-UBND", review.Actor("clerk1"))
    doc = review.approve(index, store, doc_id, review.Actor("clerk1"))
    pdf = store.get_bytes(doc.pdf_key or "")
    assert stored_pdf_title(pdf) == "Quyết định 124/QĐ-UBND" and doc.pdf_sha256 != before.pdf_sha256
    assert hashlib.sha256(pdf).hexdigest() == doc.pdf_sha256 == index.get_document(doc_id).pdf_sha256
    with pikepdf.open(store.local_path(doc.pdf_key or "")) as out:
        assert len(out.pages) == len(doc.pages) == 2
    again = review.approve(index, store, doc_id, review.Actor("clerk1"))  # same title: the PDF is left as it is
    assert again.pdf_sha256 == doc.pdf_sha256


def test_split_without_page_objects_nor_original_keeps_the_pdfs_and_says_what_is_missing(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    store.delete_many(list(store.list("originals/")))
    doc_id = decision(index)
    pages = index.get_document(doc_id).pages
    a, b = review.split(index, store, doc_id, pages[1], review.Actor("clerk1"))
    assert (a.pages, b.pages) == ((pages[0],), (pages[1],))
    for part in (a, b):  # both PDFs are taken out of the decision's PDF
        assert review.manual.PDF_REBUILD not in part.reasons and part.pdf_key
        with pikepdf.open(store.local_path(part.pdf_key)) as pdf:
            assert len(pdf.pages) == 1
    assert review.manual.METADATA_MISSING in b.reasons  # its page results cannot be read again
    assert index.get_document(b.doc_id).reasons == b.reasons


def test_split_and_merge_on_the_command_line_remake_the_documents(archive: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``digitize split`` / ``digitize merge`` re-make what they change, as the review station does: each part
    gets its PDF (of its own pages) and text; none is left "pdf needs rebuild"."""
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    store = LocalObjectStore(archive / "objects")
    doc_id = decision(index)
    pages = index.get_document(doc_id).pages
    assert main(["--archive", str(archive), "split", doc_id, str(pages[1]), "--who", "clerk1"]) == 0
    parts = [d for d in index.list_documents() if set(d.pages) <= set(pages)]
    assert sorted(p for d in parts for p in d.pages) == sorted(pages) and len(parts) == 2
    for d in parts:
        assert d.pdf_key and "pdf needs rebuild" not in d.reasons
        with pikepdf.open(io.BytesIO(store.get_bytes(d.pdf_key))) as pdf:
            assert len(pdf.pages) == len(d.pages)
    second = next(d for d in parts if d.doc_id != doc_id)
    assert main(["--archive", str(archive), "merge", doc_id, second.doc_id, "--who", "clerk1"]) == 0
    merged = index.get_document(doc_id)
    assert merged.pages == pages and merged.pdf_key and "pdf needs rebuild" not in merged.reasons
    assert {"split", "merge", "remake"} <= {h["action"] for h in index.history_of(doc_id)}
    capsys.readouterr()
