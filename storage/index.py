"""The index: files, pages, documents, dossiers and change history, in SQL.

One SQLAlchemy Core implementation serves both back-ends: SQLite (the embedded default, a file in
the archive folder) and PostgreSQL (distributed mode), selected by URL. The schema is versioned; the
ordered ``MIGRATIONS`` list brings any older database up to date on open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digitize.errors import NotFoundError, StorageError
from digitize.models import Document, Metadata, PageResult, from_dict, to_dict
from storage.folding import search_columns
from storage.schema import MIGRATIONS, documents, files, history, meta, now, pages, schema_version

if TYPE_CHECKING:
    from storage.search import SearchQuery, SearchResult

__all__ = ["MIGRATIONS", "Index", "documents", "files", "history", "meta", "now", "pages", "row_to_document"]

def _doc_row(doc: Document, at: dt.datetime) -> dict[str, Any]:
    md = doc.metadata.values()
    return {
        "doc_id": doc.doc_id,
        "sha256": doc.sha256,
        "source": doc.source,
        "first_page": doc.pages[0] if doc.pages else 0,
        "pages": json.dumps(list(doc.pages)),
        "kind": doc.kind,
        "dossier_id": doc.dossier_id,
        "dossier_source": doc.dossier_source,
        **{k: md[k] for k in ("doc_type", "number", "issued_date", "issuer", "place", "summary", "signer")},
        "metadata": json.dumps(to_dict(doc.metadata), ensure_ascii=False),
        "text": doc.text,
        "needs_review": doc.needs_review,
        "reasons": json.dumps(list(doc.reasons), ensure_ascii=False),
        "pdf_key": doc.pdf_key,
        "pdf_sha256": doc.pdf_sha256,
        "text_key": doc.text_key,
        "updated_at": at,
        **search_columns(md, doc.text, doc.dossier_id),
    }


def row_to_document(row: Any) -> Document:
    """Rebuild a Document from an index row."""
    m = row._mapping
    return Document(
        doc_id=m["doc_id"],
        sha256=m["sha256"],
        source=m["source"],
        pages=tuple(json.loads(m["pages"])),
        kind=m["kind"],
        dossier_id=m["dossier_id"],
        dossier_source=m["dossier_source"],
        metadata=from_dict(Metadata, json.loads(m["metadata"])),
        text=m["text"],
        needs_review=bool(m["needs_review"]),
        reasons=tuple(json.loads(m["reasons"])),
        pdf_key=m["pdf_key"],
        text_key=m["text_key"],
        pdf_sha256=m["pdf_sha256"],
    )


class Index:
    """The index over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.migrate()

    @classmethod
    def from_url(cls, url: str, *, lock_timeout: float = 60.0) -> Index:
        """Open (and migrate) the index at a SQLAlchemy URL, e.g. ``sqlite:///x.db``.

        ``lock_timeout``: seconds a SQLite write waits for another process's lock before it fails with a
        StorageError saying so (as does a write that finds the disk full; SQLite rolls it back whole).
        """
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": lock_timeout}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(url, **kwargs)
            if url.startswith("sqlite"):
                sa.event.listen(engine, "connect", _sqlite_pragmas)
                sa.event.listen(engine, "handle_error", _sqlite_error)
            return cls(engine)
        except StorageError:
            raise
        except sa.exc.SQLAlchemyError as e:
            raise StorageError(f"cannot open index {engine_url_safe(url)}: {e.__class__.__name__}: {e}") from e

    # --- schema --------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply missing migrations; return the schema version."""
        with self.engine.begin() as conn:
            _lock_for_migration(conn)
            schema_version.create(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
            for version, step in enumerate(MIGRATIONS, start=1):
                if version > current:
                    step(conn)
                    conn.execute(schema_version.insert().values(version=version))
                    current = version
        return current

    # --- files ---------------------------------------------------------------------------------
    def upsert_file(self, sha256: str, *, source: str, size: int, kind: str | None, page_count: int,
                    status: str, original_key: str | None = None) -> None:
        """Create or update the row of a file (same bytes = same row)."""
        at = now()
        with self.engine.begin() as conn:
            values = {"source": source, "size": size, "kind": kind, "page_count": page_count,
                      "status": status, "updated_at": at, "error_reason": None, "error_message": None}
            if original_key is not None:
                values["original_key"] = original_key
            _insert_or_update(conn, files, {"sha256": sha256}, {"created_at": at}, values)

    def fail_file(self, sha256: str, *, source: str, size: int, reason: str, message: str) -> None:
        """Record a file as failed with a reason code and message."""
        at = now()
        with self.engine.begin() as conn:
            values = {"status": "failed", "error_reason": reason, "error_message": message,
                      "updated_at": at, "source": source, "size": size}
            _insert_or_update(conn, files, {"sha256": sha256}, {"created_at": at, "page_count": 0}, values)

    def finish_file(self, sha256: str, *, status: str, pages_done: int, pages_failed: int, pages_blank: int,
                    reason: str | None = None, message: str | None = None) -> None:
        """Set a file's final status and page counts."""
        with self.engine.begin() as conn:
            conn.execute(files.update().where(files.c.sha256 == sha256).values(
                status=status, pages_done=pages_done, pages_failed=pages_failed, pages_blank=pages_blank,
                error_reason=reason, error_message=message, updated_at=now()))

    def forget_original(self, sha256: str) -> None:
        """Clear a file's original key (its original was found unusable and moved to quarantine)."""
        with self.engine.begin() as conn:
            conn.execute(files.update().where(files.c.sha256 == sha256).values(original_key=None))

    def files_by_status(self) -> dict[str, int]:
        """How many files have each status."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(files.c.status, sa.func.count()).group_by(files.c.status)).all()
        return {str(k): int(v) for k, v in rows}

    def get_file(self, sha256: str) -> dict[str, Any] | None:
        """The file's row as a dict, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(files).where(files.c.sha256 == sha256)).first()
        return dict(row._mapping) if row else None

    def list_files(self, status: str | None = None) -> list[dict[str, Any]]:
        """All files (optionally with one status), oldest first."""
        q = sa.select(files).order_by(files.c.created_at, files.c.source)
        if status:
            q = q.where(files.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # --- pages ---------------------------------------------------------------------------------
    def record_page(self, sha256: str, result: PageResult, *, kind: str | None = None,
                    result_key: str | None = None) -> None:
        """Insert or replace one page's row."""
        q = result.quality
        values = {
            "status": "failed" if result.failed else "done", "kind": kind, "blank": q.blank,
            "rotation": q.rotation, "skew_deg": q.skew_deg, "blur": q.blur, "dpi": q.dpi,
            "border": q.border, "mean_conf": result.mean_conf, "issues": json.dumps(list(q.issues)),
            "error": result.error, "result_key": result_key, "updated_at": now(),
        }
        with self.engine.begin() as conn:
            _insert_or_update(conn, pages, {"sha256": sha256, "page": result.page}, {}, values)

    def set_page_kinds(self, sha256: str, kinds: dict[int, str]) -> None:
        """Record the segmentation kind (document/separator/receipt/blank) of each page."""
        with self.engine.begin() as conn:
            for page, kind in kinds.items():
                conn.execute(pages.update().where(pages.c.sha256 == sha256, pages.c.page == page)
                             .values(kind=kind))

    def list_pages(self, sha256: str | None = None) -> list[dict[str, Any]]:
        """Page rows (of one file, or all), in page order."""
        q = sa.select(pages, files.c.source).join(files, files.c.sha256 == pages.c.sha256)
        if sha256:
            q = q.where(pages.c.sha256 == sha256)
        q = q.order_by(files.c.source, pages.c.page)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def page_states(self, sha256: str) -> dict[int, str]:
        """``{page: "done" | "failed"}`` for the pages of a file that have a row."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(pages.c.page, pages.c.status).where(pages.c.sha256 == sha256))
            return {int(r.page): str(r.status) for r in rows}

    def page_errors(self, sha256: str) -> dict[int, str]:
        """The recorded error of each failed page of a file."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(pages.c.page, pages.c.error)
                                .where(pages.c.sha256 == sha256, pages.c.status == "failed"))
            return {int(r.page): str(r.error or "failed") for r in rows}

    def forget_pages(self, sha256: str, page_numbers: Iterable[int]) -> None:
        """Delete the rows of pages about to be processed again (so a file is not complete too early)."""
        nums = list(page_numbers)
        if nums:
            with self.engine.begin() as conn:
                conn.execute(pages.delete().where(pages.c.sha256 == sha256, pages.c.page.in_(nums)))

    def file_complete(self, sha256: str, page_count: int) -> bool:
        """True when every page of the file has a row (done or failed)."""
        with self.engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(pages)
                             .where(pages.c.sha256 == sha256, pages.c.page <= page_count)).scalar()
        return page_count > 0 and int(n or 0) >= page_count

    def restore_pages(self, sha256: str, rows: Iterable[dict[str, Any]]) -> int:
        """Put back page rows saved in a file record (``reindex``); returns how many."""
        n = 0
        with self.engine.begin() as conn:
            for p in rows:
                values = dict(p, issues=json.dumps(p.get("issues") or []), result_key=None, updated_at=now())
                conn.execute(pages.delete().where(pages.c.sha256 == sha256, pages.c.page == p["page"]))
                conn.execute(pages.insert().values(sha256=sha256, **values))
                n += 1
        return n

    def pages_updated_since(self, since: dt.datetime) -> int:
        """How many page rows were written since ``since`` (pages per minute in ``status``)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(pages)
                                    .where(pages.c.updated_at >= since)).scalar() or 0)

    # --- documents -----------------------------------------------------------------------------
    def replace_documents(self, sha256: str, docs: Iterable[Document], who: str = "system") -> None:
        """Atomically replace every document of a file (re-running a file never duplicates)."""
        at = now()
        with self.engine.begin() as conn:
            _lock_file(conn, sha256)
            old = {r.doc_id: r for r in conn.execute(sa.select(documents.c.doc_id, documents.c.created_at)
                                                      .where(documents.c.sha256 == sha256))}
            conn.execute(documents.delete().where(documents.c.sha256 == sha256))
            for doc in docs:
                created = old[doc.doc_id].created_at if doc.doc_id in old else at
                conn.execute(documents.insert().values(created_at=created, **_doc_row(doc, at)))

    def update_document(self, doc: Document, *, who: str, action: str, detail: dict[str, Any]) -> None:
        """Replace one document's row and add a history entry (manual fixes, review)."""
        at = now()
        with self.engine.begin() as conn:
            n = conn.execute(documents.update().where(documents.c.doc_id == doc.doc_id)
                             .values(**_doc_row(doc, at))).rowcount
            if not n:
                raise NotFoundError(f"document {doc.doc_id} not found")
            conn.execute(history.insert().values(doc_id=doc.doc_id, action=action, who=who, at=at,
                                                 detail=json.dumps(detail, ensure_ascii=False)))

    def rewrite_documents(self, upsert: Iterable[Document], delete: Iterable[str], *, who: str, action: str,
                          detail: dict[str, Any]) -> None:
        """In one transaction: delete some documents, insert or update others, and add a history entry
        for every document touched (manual split and merge)."""
        at = now()
        upsert, delete = list(upsert), list(delete)
        with self.engine.begin() as conn:
            for doc_id in delete:
                if not conn.execute(documents.delete().where(documents.c.doc_id == doc_id)).rowcount:
                    raise NotFoundError(f"document {doc_id} not found")
            for doc in upsert:
                row = _doc_row(doc, at)
                if not conn.execute(documents.update().where(documents.c.doc_id == doc.doc_id)
                                    .values(**row)).rowcount:
                    conn.execute(documents.insert().values(created_at=at, **row))
            text = json.dumps(detail, ensure_ascii=False)
            for doc_id in dict.fromkeys([*delete, *(d.doc_id for d in upsert)]):
                conn.execute(history.insert().values(doc_id=doc_id, action=action, who=who, at=at, detail=text))

    def get_document(self, doc_id: str) -> Document:
        """One document; NotFoundError when absent."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(documents).where(documents.c.doc_id == doc_id)).first()
        if row is None:
            raise NotFoundError(f"document {doc_id} not found")
        return row_to_document(row)

    def list_documents(self, *, dossier_id: str | None = None, sha256: str | None = None,
                       kind: str | None = "result") -> Iterator[Document]:
        """Documents in (source, first page) order, optionally filtered."""
        q = sa.select(documents).order_by(documents.c.source, documents.c.first_page)
        if dossier_id is not None:
            q = q.where(documents.c.dossier_id == dossier_id)
        if sha256 is not None:
            q = q.where(documents.c.sha256 == sha256)
        if kind is not None:
            q = q.where(documents.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(q).fetchall()
        for row in rows:
            yield row_to_document(row)

    def search(self, query: SearchQuery) -> SearchResult:
        """Full-text search (see storage/search.py): the total (counted up to a cap, ``total_is_exact``
        says whether it was reached) and one page of documents, best first."""
        from storage.search import SearchResult, search

        found = search(self.engine, query)
        return SearchResult(found.total, [row_to_document(r) for r in found.items], found.total_is_exact)

    def dossier_documents(self, dossier_id: str, *, with_text: bool = False) -> list[Document]:
        """A dossier's result documents in (source, first page) order; without ``with_text`` the OCR text
        and the search copies are not read (the row's big columns) and ``text`` is empty."""
        cols = [col for col in documents.c
                if with_text or (col.name != "text" and not col.name.endswith(("_folded", "_lower")))]
        if not with_text:
            cols.append(sa.literal("").label("text"))
        q = (sa.select(*cols).where(documents.c.dossier_id == dossier_id, documents.c.kind == "result")
             .order_by(documents.c.source, documents.c.first_page))
        with self.engine.connect() as conn:
            return [row_to_document(r) for r in conn.execute(q)]

    def history_of(self, doc_id: str) -> list[dict[str, Any]]:
        """The change history of a document, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(history).where(history.c.doc_id == doc_id).order_by(history.c.id))
            return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in rows]

    def latest_reviews(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, dt.datetime]]:
        """The latest review (who, when) of each of these documents that has one."""
        ids = list(doc_ids)
        if not ids:
            return {}
        q = (sa.select(history.c.doc_id, history.c.who, history.c.at)
             .where(history.c.doc_id.in_(ids), history.c.action == "review").order_by(history.c.id))
        with self.engine.connect() as conn:
            return {r.doc_id: (r.who, r.at) for r in conn.execute(q)}

    def pending_review(self, order: str = "oldest") -> list[Document]:
        """Every result document that needs review (text left out), in the review queue's ``order``:
        ``oldest`` (received first), ``dossier`` (by dossier code) or ``batch`` (by file and page)."""
        c = documents.c
        keys = {"oldest": (c.created_at, c.source, c.first_page), "dossier": (c.dossier_id, c.source, c.first_page),
                "batch": (c.source, c.first_page)}[order]
        columns = [col for col in documents.c if col.name != "text" and not col.name.endswith(("_folded", "_lower"))]
        q = (sa.select(*columns, sa.literal("").label("text"))
             .where(c.needs_review.is_(True), c.kind == "result").order_by(*keys, c.doc_id))
        with self.engine.connect() as conn:
            return [row_to_document(r) for r in conn.execute(q)]

    def ping(self) -> None:
        """A round trip to the database (the health check); raises when it cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def counts(self) -> dict[str, int]:
        """Totals for summaries and metrics."""
        with self.engine.connect() as conn:
            def one(q: Any) -> int:
                return int(conn.execute(q).scalar() or 0)
            return {
                "files": one(sa.select(sa.func.count()).select_from(files)),
                "files_failed": one(sa.select(sa.func.count()).select_from(files).where(files.c.status == "failed")),
                "pages": one(sa.select(sa.func.count()).select_from(pages)),
                "pages_failed": one(sa.select(sa.func.count()).select_from(pages).where(pages.c.status == "failed")),
                "documents": one(sa.select(sa.func.count()).select_from(documents)
                                 .where(documents.c.kind == "result")),
                "needs_review": one(sa.select(sa.func.count()).select_from(documents)
                                    .where(documents.c.needs_review.is_(True), documents.c.kind == "result")),
            }

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


MIGRATION_LOCK = 0x6469676974  # PostgreSQL advisory lock key ("digit")


def _insert_or_update(conn: Connection, table: sa.Table, key: dict[str, Any], insert_only: dict[str, Any],
                      update: dict[str, Any]) -> None:
    """One ``INSERT ... ON CONFLICT (key) DO UPDATE`` statement, so concurrent writers of the same row
    (a redelivered job next to the original) cannot collide on the primary key."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise StorageError(f"unsupported index database {conn.dialect.name!r} (use SQLite or PostgreSQL)")
    stmt = insert(table).values(**key, **insert_only, **update)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=update))


def _lock_file(conn: Connection, sha256: str) -> None:
    """Serialise transactions that rewrite the rows of one file (until the transaction ends)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(sha256.encode()).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_for_migration(conn: Connection) -> None:
    """Serialise migrations of processes that open the same empty database at the same moment."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not at the first CREATE


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Switching a new database to WAL needs an exclusive lock and SQLite answers "locked" at once
    # (no busy wait) while another connection holds one: retry for a bounded time.
    for attempt in range(100):
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == 99:
                raise
            time.sleep(0.05)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_error(context: Any) -> None:
    """A locked or full SQLite index as a StorageError a clerk understands (the transaction is rolled back)."""
    text = str(context.original_exception)
    if "database is locked" in text or "database is busy" in text:
        raise StorageError("the archive's index is locked by another process (another digitize run, or a program "
                           "holding index.sqlite open): nothing was changed; run again when it has finished")
    if "database or disk is full" in text:
        raise StorageError("the archive's disk is full (the index could not be written; nothing was changed): "
                           "free some space and run again")


def engine_url_safe(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"
