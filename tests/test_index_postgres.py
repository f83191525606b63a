"""The index behaves the same on SQLite and PostgreSQL: every test runs on both back-ends.

PostgreSQL is a real server (a throwaway cluster, see ``workers/localservers.py``), each test on a new
empty database; SQLite is a file in the test's temp dir.
"""

from __future__ import annotations

import hashlib
import threading

import pytest
import sqlalchemy as sa

from digitize.errors import NotFoundError
from digitize.models import Document, Field, Metadata, PageResult, Quality
from storage.index import MIGRATIONS, Index


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def make_doc(file_sha: str, pages: tuple[int, ...], *, number: str, dossier: str | None = None,
             kind: str = "result", needs_review: bool = False, text: str = "") -> Document:
    md = Metadata(
        doc_type=Field("Quyết định", 0.95),
        number=Field(number, 0.9),
        issued_date=Field("2021-06-15", 0.8),
        issuer=Field("Ủy ban nhân dân huyện Kiến Xương", 0.7),
        place=Field("Kiến Xương", 0.7),
        summary=Field("Về việc cấp giấy phép xây dựng", 0.6),
        signer=Field(None, 0.0, "not found"),
    )
    return Document(
        doc_id=f"{file_sha[:12]}-{pages[0]:04d}", sha256=file_sha, source=f"lô/{file_sha[:6]}.pdf", pages=pages,
        kind=kind, dossier_id=dossier, dossier_source="separator" if dossier else None, metadata=md,
        text=text or "\f".join(f"Trang {p}: Cộng hòa xã hội chủ nghĩa Việt Nam" for p in pages),
        needs_review=needs_review, reasons=("signer missing",) if needs_review else (),
        pdf_key=f"documents/{file_sha[:12]}.pdf", text_key=None, pdf_sha256=sha("pdf" + file_sha),
    )


def page(n: int, *, blank: bool = False, error: str | None = None, conf: float = 88.5) -> PageResult:
    return PageResult(page=n, quality=Quality(rotation=90, skew_deg=1.25, blur=310.0, dpi=300.0, border=True,
                                              blank=blank, issues=("dpi 150 < 200",) if n == 2 else ()),
                      mean_conf=conf, error=error)


def test_migrate_is_idempotent(index_url: str) -> None:
    first = Index.from_url(index_url)
    assert first.migrate() == len(MIGRATIONS)
    first.close()
    again = Index.from_url(index_url)  # reopening must not re-run or re-record migrations
    with again.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars().all()
        tables = set(sa.inspect(conn).get_table_names())
    again.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert {"files", "pages", "documents", "history", "schema_version"} <= tables


def test_concurrent_first_open_migrates_once(index_url: str) -> None:
    """Several workers starting at once on an empty database must all come up (no duplicate tables)."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_index() -> None:
        try:
            barrier.wait()
            Index.from_url(index_url).close()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_index) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    idx = Index.from_url(index_url)
    with idx.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    idx.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_upsert_file_creates_then_updates(index: Index) -> None:
    s = sha("a")
    index.upsert_file(s, source="lô 1/a.pdf", size=1234, kind="pdf", page_count=3, status="queued",
                      original_key="originals/a")
    row = index.get_file(s)
    assert row is not None
    assert (row["source"], row["size"], row["page_count"], row["status"], row["original_key"]) == (
        "lô 1/a.pdf", 1234, 3, "queued", "originals/a")
    created = row["created_at"]
    index.upsert_file(s, source="lô 1/a.pdf", size=1234, kind="pdf", page_count=3, status="processing")
    row = index.get_file(s)
    assert row["status"] == "processing"
    assert row["original_key"] == "originals/a"  # not overwritten by None
    assert row["created_at"] == created
    assert index.counts()["files"] == 1
    assert index.get_file(sha("nope")) is None


def test_big_sizes_fit(index: Index) -> None:
    s = sha("big")
    index.upsert_file(s, source="big.tif", size=5 * 2**31, kind="tiff", page_count=1, status="queued")
    assert index.get_file(s)["size"] == 5 * 2**31


def test_fail_and_finish_file(index: Index) -> None:
    a, b = sha("a"), sha("b")
    index.fail_file(a, source="a.pdf", size=10, reason="encrypted", message="mật khẩu")
    index.upsert_file(b, source="b.pdf", size=20, kind="pdf", page_count=4, status="processing")
    index.finish_file(b, status="done", pages_done=3, pages_failed=1, pages_blank=1)
    fa, fb = index.get_file(a), index.get_file(b)
    assert (fa["status"], fa["error_reason"], fa["error_message"], fa["page_count"]) == (
        "failed", "encrypted", "mật khẩu", 0)
    assert (fb["status"], fb["pages_done"], fb["pages_failed"], fb["pages_blank"]) == ("done", 3, 1, 1)
    assert [f["sha256"] for f in index.list_files(status="failed")] == [a]
    assert sorted(f["sha256"] for f in index.list_files()) == sorted([a, b])
    # a failed file that is retried and succeeds loses its error
    index.upsert_file(a, source="a.pdf", size=10, kind="pdf", page_count=1, status="processing")
    assert index.get_file(a)["error_reason"] is None
    assert index.counts()["files_failed"] == 0


def test_record_page_inserts_then_replaces(index: Index) -> None:
    s = sha("p")
    index.upsert_file(s, source="p.pdf", size=1, kind="pdf", page_count=3, status="processing")
    index.record_page(s, page(1), result_key="pages/p/1.json")
    index.record_page(s, page(2))
    index.record_page(s, page(3, error="tesseract crashed"))
    index.record_page(s, page(1, conf=91.0), kind="document", result_key="pages/p/1.json")  # redelivered job
    rows = index.list_pages(s)
    assert [r["page"] for r in rows] == [1, 2, 3]
    first = rows[0]
    assert first["mean_conf"] == pytest.approx(91.0)
    assert (first["rotation"], first["skew_deg"], first["dpi"], first["border"], first["blank"]) == (
        90, pytest.approx(1.25), pytest.approx(300.0), True, False)
    assert (first["kind"], first["result_key"], first["source"]) == ("document", "pages/p/1.json", "p.pdf")
    assert rows[1]["issues"] == '["dpi 150 < 200"]'
    assert (rows[2]["status"], rows[2]["error"]) == ("failed", "tesseract crashed")
    index.set_page_kinds(s, {2: "separator", 3: "blank"})
    assert [r["kind"] for r in index.list_pages(s)] == ["document", "separator", "blank"]
    c = index.counts()
    assert (c["pages"], c["pages_failed"]) == (3, 1)


def test_replace_documents_is_idempotent(index: Index) -> None:
    s = sha("d")
    index.upsert_file(s, source="d.pdf", size=1, kind="pdf", page_count=5, status="processing")
    docs = [make_doc(s, (1, 2), number="12/QĐ-UBND", dossier="000.00.13.H56-210615-0001"),
            make_doc(s, (4, 5), number="13/QĐ-UBND", dossier="000.00.13.H56-210615-0001", needs_review=True),
            make_doc(s, (3,), number="", kind="receipt")]
    index.replace_documents(s, docs)
    created = {d.doc_id: index.get_document(d.doc_id) for d in docs}
    assert created[docs[0].doc_id] == docs[0]  # full round trip, Vietnamese text and metadata included
    index.replace_documents(s, docs)  # a redelivered job writes the same documents again
    assert index.counts()["documents"] == 2  # receipts are not counted as documents
    assert [d.doc_id for d in index.list_documents(sha256=s)] == [docs[0].doc_id, docs[1].doc_id]
    assert [d.doc_id for d in index.list_documents(sha256=s, kind=None)] == [d.doc_id for d in docs[:1]] + [
        docs[2].doc_id, docs[1].doc_id]
    # a re-run that segments differently replaces, never adds
    index.replace_documents(s, [make_doc(s, (1, 2, 3, 4, 5), number="12/QĐ-UBND")])
    assert [d.pages for d in index.list_documents(sha256=s, kind=None)] == [(1, 2, 3, 4, 5)]
    with pytest.raises(NotFoundError):
        index.get_document(docs[1].doc_id)


def test_replace_documents_keeps_created_at(index: Index) -> None:
    s = sha("c")
    doc = make_doc(s, (1,), number="1/QĐ")
    index.replace_documents(s, [doc])
    with index.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT created_at, updated_at FROM documents")).one()
    index.replace_documents(s, [doc])
    with index.engine.connect() as conn:
        after = conn.execute(sa.text("SELECT created_at, updated_at FROM documents")).one()
    assert after.created_at == before.created_at
    assert after.updated_at >= before.updated_at


def test_list_documents_filters_and_order(index: Index) -> None:
    a, b = sha("a"), sha("b")
    code1, code2 = "000.00.13.H56-210615-0001", "H26.107.01-260203-010023"
    index.replace_documents(b, [make_doc(b, (3,), number="3/QĐ", dossier=code1),
                                make_doc(b, (1,), number="1/QĐ", dossier=code2)])
    index.replace_documents(a, [make_doc(a, (2,), number="2/QĐ", dossier=code1, needs_review=True)])
    got = list(index.list_documents())
    # (source, first page) order
    assert [(d.source, d.pages[0]) for d in got] == sorted((d.source, d.pages[0]) for d in got)
    assert sorted(d.metadata.number.value for d in index.list_documents(dossier_id=code1)) == ["2/QĐ", "3/QĐ"]
    assert [d.metadata.number.value for d in index.list_documents(dossier_id=code2)] == ["1/QĐ"]
    assert list(index.list_documents(dossier_id="38.98.H29-210519-0013")) == []
    assert index.counts()["needs_review"] == 1


def test_update_document_keeps_history(index: Index) -> None:
    s = sha("h")
    doc = make_doc(s, (1, 2), number="7/QĐ-UBND", needs_review=True)
    index.replace_documents(s, [doc])
    fixed = Document(**{**doc.__dict__, "dossier_id": "38.98.H29-210519-0013", "needs_review": False,
                        "reasons": ()})
    index.update_document(fixed, who="Nguyễn Thị B", action="assign",
                          detail={"dossier_id": "38.98.H29-210519-0013", "ghi chú": "đã kiểm tra"})
    index.update_document(fixed, who="Trần Văn C", action="review", detail={"ok": True})
    got = index.get_document(doc.doc_id)
    assert (got.dossier_id, got.needs_review, got.reasons) == ("38.98.H29-210519-0013", False, ())
    hist = index.history_of(doc.doc_id)
    assert [(h["action"], h["who"]) for h in hist] == [("assign", "Nguyễn Thị B"), ("review", "Trần Văn C")]
    assert hist[0]["detail"] == {"dossier_id": "38.98.H29-210519-0013", "ghi chú": "đã kiểm tra"}
    assert index.history_of("missing") == []
    with pytest.raises(NotFoundError):
        index.update_document(make_doc(sha("x"), (1,), number="x"), who="a", action="assign", detail={})
    assert index.counts()["needs_review"] == 0


def test_concurrent_writers_same_file(index: Index) -> None:
    """Redelivered jobs may write the same file and pages at the same time: no duplicate-key failures."""
    s = sha("race")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                index.upsert_file(s, source="race.pdf", size=1, kind="pdf", page_count=10, status="processing")
                index.record_page(s, page(i + 1, conf=float(n)))
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    c = index.counts()
    assert (c["files"], c["pages"]) == (1, 10)


def test_concurrent_replace_documents(index: Index) -> None:
    """Two deliveries of the same extract job finishing together leave one set of documents."""
    s = sha("twice")
    docs = [make_doc(s, (1, 2), number="1/QĐ"), make_doc(s, (3,), number="2/QĐ")]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                index.replace_documents(s, docs)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert [d.doc_id for d in index.list_documents(sha256=s)] == [d.doc_id for d in docs]
    assert index.counts()["documents"] == 2
