"""The index's tables — files, pages, documents, history, API keys, audit, import jobs, signatures,
publications — and the ordered migrations that create them. Only SQLAlchemy: no other part of the
project is imported here, so ``storage.index`` and ``storage.access`` both build on it without a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

meta = sa.MetaData()

schema_version = sa.Table("schema_version", meta, sa.Column("version", sa.Integer, nullable=False))

files = sa.Table(
    "files",
    meta,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False, default=0),
    sa.Column("kind", sa.String(16)),
    sa.Column("page_count", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(16), nullable=False),  # queued, processing, done, failed
    sa.Column("error_reason", sa.String(64)),
    sa.Column("error_message", sa.Text),
    sa.Column("original_key", sa.Text),
    sa.Column("pages_done", sa.Integer, nullable=False, default=0),
    sa.Column("pages_failed", sa.Integer, nullable=False, default=0),
    sa.Column("pages_blank", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

pages = sa.Table(
    "pages",
    meta,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("page", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # done, failed
    sa.Column("kind", sa.String(16)),
    sa.Column("blank", sa.Boolean, nullable=False, default=False),
    sa.Column("rotation", sa.Integer, nullable=False, default=0),
    sa.Column("skew_deg", sa.Float, nullable=False, default=0.0),
    sa.Column("blur", sa.Float, nullable=False, default=0.0),
    sa.Column("dpi", sa.Float, nullable=False, default=0.0),
    sa.Column("border", sa.Boolean, nullable=False, default=False),
    sa.Column("mean_conf", sa.Float, nullable=False, default=0.0),
    sa.Column("issues", sa.Text, nullable=False, default="[]"),
    sa.Column("error", sa.Text),
    sa.Column("result_key", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

documents = sa.Table(
    "documents",
    meta,
    sa.Column("doc_id", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("first_page", sa.Integer, nullable=False),
    sa.Column("pages", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("dossier_id", sa.String(64), index=True),
    sa.Column("dossier_source", sa.String(32)),
    sa.Column("doc_type", sa.Text),
    sa.Column("number", sa.Text),
    sa.Column("issued_date", sa.String(10)),
    sa.Column("issuer", sa.Text),
    sa.Column("place", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("signer", sa.Text),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("needs_review", sa.Boolean, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("pdf_key", sa.Text),
    sa.Column("pdf_sha256", sa.String(64)),
    sa.Column("text_key", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # search (storage/search.py): lower-cased and diacritic-folded copies of metadata + text
    sa.Column("search_lower", sa.Text, nullable=False, default=""),
    sa.Column("search_folded", sa.Text, nullable=False, default=""),
    sa.Column("doc_type_folded", sa.Text, nullable=False, default=""),
    sa.Column("issuer_folded", sa.Text, nullable=False, default=""),
    sa.Column("search_pairs", sa.Text),  # adjacent word pairs, exact and folded (storage/folding.py)
    # full-text key (SQLite: the FTS5 rowid, issued day * 2**32 + n; see storage/search_sql.py)
    sa.Column("search_rowid", sa.BigInteger),
)

history = sa.Table(
    "history",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("doc_id", sa.String(64), index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


api_keys = sa.Table(
    "api_keys",
    meta,
    sa.Column("key_id", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

audit_log = sa.Table(
    "audit_log",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("who", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)

import_jobs = sa.Table(
    "import_jobs",
    meta,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

signatures = sa.Table(
    "signatures",
    meta,
    sa.Column("doc_id", sa.String(64), primary_key=True),
    sa.Column("source_sha256", sa.String(64), nullable=False),  # the unsigned document PDF that was signed
    sa.Column("signed_key", sa.Text, nullable=False),
    sa.Column("signed_sha256", sa.String(64), nullable=False),
    sa.Column("signer", sa.Text, nullable=False),  # the certificate's subject
    sa.Column("cert_sha256", sa.String(64), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
)

publications = sa.Table(
    "publications",
    meta,
    sa.Column("idempotency_key", sa.String(64), primary_key=True),  # sha256 of the PDF that was sent
    sa.Column("doc_id", sa.String(64), nullable=False, index=True),
    sa.Column("dossier_id", sa.String(64), nullable=False, index=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # published, failed
    sa.Column("signed", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("package_sha256", sa.String(64)),
    sa.Column("receipt", sa.Text),  # the portal's answer (truncated)
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

ACCESS_TABLES = [api_keys, audit_log, import_jobs]
ACCESS_TABLES_V2 = [signatures, publications]


def _v1(conn: Connection) -> None:
    meta.create_all(conn, tables=[files, pages, documents, history, *ACCESS_TABLES])


def _v2(conn: Connection) -> None:
    meta.create_all(conn, tables=ACCESS_TABLES_V2)  # signatures of electronic copies, publications to the portal


def _v3(conn: Connection) -> None:
    from storage.search_sql import migrate_search  # full-text index (FTS5 / tsvector) over existing documents

    migrate_search(conn)


def _v4(conn: Connection) -> None:
    from storage.search_sql import migrate_search_rows  # PostgreSQL: the narrow search table (search_pg.py)

    migrate_search_rows(conn)


def _v5(conn: Connection) -> None:
    from storage.search_sql import migrate_search_tiers  # PostgreSQL: what the tiers read, narrow (search.py)

    migrate_search_tiers(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5]


def now() -> dt.datetime:
    """Current UTC time (timezone-aware)."""
    return dt.datetime.now(dt.UTC)
