"""Full-text search (SQLite FTS5, PostgreSQL tsvector): every test runs on both back-ends.

Diacritics are optional in queries and ranked: the exact spelling first. The index follows every
write (pipeline, review corrections, split/merge), and an archive made before the full-text index
(schema v2) gets it built by the migration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import sqlalchemy as sa

from digitize.models import Document, Field, Metadata
from storage.index import MIGRATIONS, Index
from storage.schema import documents, schema_version
from storage.search import SearchQuery, SearchResult


def doc(name: str, *, issuer: str, text: str = "", date: str | None = "2021-06-15", doc_type: str = "Quyết định",
        needs_review: bool = False, dossier: str | None = None, kind: str = "result") -> Document:
    sha = hashlib.sha256(name.encode()).hexdigest()
    md = Metadata(doc_type=Field(doc_type, 0.9), number=Field(f"{name}/QĐ-UBND", 0.9), issued_date=Field(date, 0.9),
                  issuer=Field(issuer, 0.9), summary=Field("Về việc cấp giấy phép xây dựng", 0.8))
    return Document(doc_id=f"{sha[:12]}-0001", sha256=sha, source=f"{name}.pdf", pages=(1,), kind=kind,
                    dossier_id=dossier, dossier_source="separator" if dossier else None, metadata=md,
                    text=text or "Cộng hòa xã hội chủ nghĩa Việt Nam", needs_review=needs_review,
                    reasons=("signer missing",) if needs_review else ())


def add(index: Index, *docs: Document) -> None:
    for d in docs:
        index.replace_documents(d.sha256, [d])


def numbers(found: SearchResult) -> list[str]:
    return [str(d.metadata.number.value).split("/")[0] for d in found[1]]


def test_kien_xuong_finds_kien_xuong_exact_spelling_first(index: Index) -> None:
    add(index,
        doc("1", issuer="UY BAN NHAN DAN HUYEN KIEN XUONG", date="2026-01-10"),  # newest, no diacritics
        doc("2", issuer="Ủy ban nhân dân huyện Kiến Xương", date="2019-01-10"),
        doc("3", issuer="Ủy ban nhân dân huyện Kiến Xướng", date="2025-01-10"),  # an OCR slip on one word
        doc("4", issuer="Ủy ban nhân dân huyện Tiền Hải", date="2024-01-10"))
    assert numbers(index.search(SearchQuery(q="Kiến Xương"))) == ["2", "3", "1"]
    assert index.search(SearchQuery(q="Kiến Xương"))[0] == 3
    # without diacritics the unaccented text is the exact spelling
    assert numbers(index.search(SearchQuery(q="kien xuong"))) == ["1", "3", "2"]
    assert numbers(index.search(SearchQuery(q="KIẾN"))) == ["3", "2", "1"]  # exact word (newest first), then folded
    assert index.search(SearchQuery(q="xuong kien"))[0] == 3  # every word, any order


def test_words_not_substrings_and_punctuation(index: Index) -> None:
    add(index, doc("7", issuer="Ủy ban nhân dân xã Vũ Tây", text="Giấy phép số 45/GPXD cấp cho ông Vũ Văn An"))
    assert numbers(index.search(SearchQuery(q="vu tay"))) == ["7"]
    assert numbers(index.search(SearchQuery(q="45/GPXD"))) == ["7"]
    assert numbers(index.search(SearchQuery(q="7/qđ-ubnd"))) == ["7"]  # the number, any case, đ kept or folded
    assert numbers(index.search(SearchQuery(q="7 qd ubnd"))) == ["7"]
    assert index.search(SearchQuery(q="ta"))[0] == 0  # a word, not part of "Tây"
    assert index.search(SearchQuery(q="%"))[0] == 0 and index.search(SearchQuery(q='" OR "'))[0] == 0
    assert index.search(SearchQuery(q="vu NEAR tay"))[0] == 0  # query syntax is not interpreted


def test_filters_paging_and_total(index: Index) -> None:
    add(index, *(doc(str(i), issuer="Ủy ban nhân dân xã Vũ Tây" if i % 2 else "Sở Xây dựng tỉnh Thái Bình",
                     date=f"20{10 + i}-03-0{1 + i % 9}", needs_review=i % 3 == 0,
                     doc_type="Quyết định" if i < 8 else "Giấy phép xây dựng") for i in range(1, 13)),
        doc("99", issuer="Ủy ban nhân dân xã Vũ Tây", kind="separator"))
    everything = index.search(SearchQuery(q="giay phep", limit=100))
    assert everything[0] == 12 and numbers(everything) == [str(i) for i in range(12, 0, -1)]  # newest first
    pages = [numbers(index.search(SearchQuery(q="giay phep", limit=5, offset=o))) for o in (0, 5, 10)]
    assert sum(pages, []) == numbers(everything)
    assert index.search(SearchQuery(q="giay phep", offset=50)) == (12, [], True)
    assert numbers(index.search(SearchQuery(q="giay phep", cleared_only=True, limit=100))) == [
        str(i) for i in range(11, 0, -1) if i % 3]
    assert numbers(index.search(SearchQuery(issuer="vu tay", doc_type="quyet dinh"))) == ["7", "5", "3", "1"]
    assert numbers(index.search(SearchQuery(doc_type="Giấy phép xây dựng"))) == ["12", "11", "10", "9", "8"]
    assert numbers(index.search(SearchQuery(q="cap phep", date_from=dt.date(2015, 1, 1),
                                            date_to=dt.date(2018, 12, 31)))) == ["8", "7", "6", "5"]
    assert index.search(SearchQuery())[0] == 12  # no query: every result document, newest first
    assert numbers(index.search(SearchQuery(date_to=dt.date(2013, 12, 31), cleared_only=True))) == ["2", "1"]


def test_index_follows_writes(index: Index) -> None:
    a = doc("1", issuer="Ủy ban nhân dân phường Kỳ Bá", date=None)
    add(index, a)
    assert numbers(index.search(SearchQuery(q="ky ba"))) == ["1"]
    fixed = dataclasses.replace(a, metadata=dataclasses.replace(
        a.metadata, issuer=Field("Ủy ban nhân dân xã Đông Hưng", 1.0), issued_date=Field("2024-05-06", 1.0)))
    index.update_document(fixed, who="clerk", action="correct", detail={})
    assert index.search(SearchQuery(q="ky ba"))[0] == 0
    assert numbers(index.search(SearchQuery(q="dong hung", date_from=dt.date(2024, 5, 6)))) == ["1"]
    b = doc("2", issuer="Ủy ban nhân dân xã Đông Hưng", date="2024-05-07")
    index.rewrite_documents([b], [], who="clerk", action="split", detail={})
    assert numbers(index.search(SearchQuery(q="Đông Hưng"))) == ["2", "1"]
    index.replace_documents(a.sha256, [])
    assert numbers(index.search(SearchQuery(q="Đông Hưng"))) == ["2"]


def test_postgresql_search_rows_follow_writes(index: Index) -> None:
    """PostgreSQL's narrow search table (schema v4) holds every document's filter columns and folded words,
    kept in step by the trigger on every write (insert, correction, delete, truncate), with the signature
    of its words."""
    if index.engine.dialect.name != "postgresql":
        return

    def narrow() -> dict[str, tuple[object, ...]]:
        with index.engine.connect() as conn:
            return {r[0]: tuple(r[1:]) for r in conn.exec_driver_sql(
                "SELECT doc_id, issued_date, kind, needs_review, doc_type_folded, "
                "issuer_tsv @@ phraseto_tsquery('simple', 'ky ba'), "
                "folded_tsv @@ plainto_tsquery('simple', 'dong hung'), "
                "words_sig & search_sig('{dong,hung}') = search_sig('{dong,hung}') FROM search_rows")}

    a = doc("1", issuer="Ủy ban nhân dân phường Kỳ Bá", date=None, needs_review=True)
    b = doc("2", issuer="UBND xã Đông Hưng", kind="separator", doc_type="Giấy phép xây dựng")
    add(index, a, b)
    assert narrow() == {a.doc_id: (None, "result", True, "quyet dinh", True, False, False),
                        b.doc_id: ("2021-06-15", "separator", False, "giay phep xay dung", False, True, True)}
    fixed = dataclasses.replace(a, needs_review=False, metadata=dataclasses.replace(
        a.metadata, issuer=Field("UBND xã Đông Hưng", 1.0), issued_date=Field("2024-05-06", 1.0)))
    index.update_document(fixed, who="clerk", action="correct", detail={})
    assert narrow()[a.doc_id] == ("2024-05-06", "result", False, "quyet dinh", False, True, True)
    index.replace_documents(a.sha256, [])
    assert a.doc_id not in narrow() and len(narrow()) == 1
    with index.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE documents")
    assert narrow() == {}


def test_postgresql_search_tiers_follow_writes_and_rank(index: Index) -> None:
    """PostgreSQL's tier table (schema v5) holds every document's issued date, exact words and word pairs
    without positions, kept in step by the trigger on every write; ranking reads it, not ``documents``."""
    if index.engine.dialect.name != "postgresql":
        return

    def tiers() -> dict[str, tuple[object, ...]]:
        with index.engine.connect() as conn:
            return {r[0]: tuple(r[1:]) for r in conn.exec_driver_sql(
                "SELECT doc_id, issued_date, exact_tsv @@ plainto_tsquery('simple', 'kiến xương'), "
                "pairs_tsv @@ plainto_tsquery('simple', 'kiếnǂxương'), "
                "pairs_tsv @@ plainto_tsquery('simple', 'kienǁxuong'), "
                "exact_tsv = strip(exact_tsv) AND pairs_tsv = strip(pairs_tsv) FROM search_tiers")}

    a = doc("1", issuer="UBND huyện Kiến Xương", date="2024-05-06")
    b = doc("2", issuer="UBND huyen Kien Xuong", date=None, kind="separator")
    add(index, a, b)
    assert tiers() == {a.doc_id: ("2024-05-06", True, True, True, True), b.doc_id: (None, False, False, True, True)}
    fixed = dataclasses.replace(a, metadata=dataclasses.replace(
        a.metadata, issuer=Field("UBND huyện Kiến Xướng", 1.0), issued_date=Field("2024-05-07", 1.0)))
    index.update_document(fixed, who="clerk", action="correct", detail={})
    assert tiers()[a.doc_id] == ("2024-05-07", False, False, True, True)
    c = doc("3", issuer="UBND huyen Kien Xuong", date="2020-01-01")
    add(index, c)
    assert numbers(index.search(SearchQuery(q="Kiến Xương"))) == ["1", "3"]  # "kiến" spelt exactly, then none
    with index.engine.begin() as conn:  # the tiers come from search_tiers: make "3" spelt exactly there only
        conn.exec_driver_sql("UPDATE search_tiers SET exact_tsv = to_tsvector('simple', 'kiến xương'), "
                             f"pairs_tsv = to_tsvector('simple', 'kiếnǂxương kienǁxuong') WHERE doc_id = '{c.doc_id}'")
    assert numbers(index.search(SearchQuery(q="Kiến Xương"))) == ["3", "1"]
    index.replace_documents(a.sha256, [])
    assert a.doc_id not in tiers() and len(tiers()) == 2
    with index.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE documents")
    assert tiers() == {}


def test_v2_archive_migrates_and_searches(index_url: str) -> None:
    engine = sa.create_engine(index_url)
    with engine.begin() as conn:  # an archive written before the full-text index (schema v2)
        schema_version.create(conn)
        for version, step in enumerate(MIGRATIONS[:2], start=1):
            step(conn)
            conn.execute(schema_version.insert().values(version=version))
        conn.execute(documents.delete())
        conn.exec_driver_sql("ALTER TABLE documents DROP COLUMN search_rowid")
    old = Index.__new__(Index)  # the rows as the v2 code wrote them
    old.engine = engine
    from storage.index import _doc_row

    with engine.begin() as conn:
        for d in (doc("1", issuer="UBND huyện Kiến Xương", date="2020-01-02"),
                  doc("2", issuer="UBND huyen Kien Xuong", date="2021-01-02"), doc("3", issuer="UBND xã Vũ Tây")):
            row = {k: v for k, v in _doc_row(d, dt.datetime.now(dt.UTC)).items() if k != "search_rowid"}
            conn.execute(documents.insert().values(created_at=dt.datetime.now(dt.UTC), **row))
    engine.dispose()
    index = Index.from_url(index_url)
    try:
        with index.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() == len(MIGRATIONS)
        assert numbers(index.search(SearchQuery(q="Kiến Xương"))) == ["1", "2"]
        assert numbers(index.search(SearchQuery(q="kien xuong"))) == ["2", "1"]
        add(index, doc("4", issuer="UBND huyện Kiến Xương", date="2020-01-02"))  # written after the migration
        assert numbers(index.search(SearchQuery(q="Kiến Xương"))) == ["4", "1", "2"]
    finally:
        index.close()


def test_dossier_lookup_uses_its_index(index: Index) -> None:
    add(index, doc("1", issuer="UBND", dossier="000.00.13.H56-241126-0002"),
        doc("2", issuer="UBND", dossier="000.00.13.H56-241126-0003"))
    assert [d.dossier_id for d in index.dossier_documents("000.00.13.H56-241126-0002")] == [
        "000.00.13.H56-241126-0002"]
    q = (sa.select(documents.c.doc_id).where(documents.c.dossier_id == "x", documents.c.kind == "result")
         .order_by(documents.c.source, documents.c.first_page))
    with index.engine.connect() as conn:
        sql = str(q.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether the index can serve
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        else:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_documents_dossier_id" in plan, plan
