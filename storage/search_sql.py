"""The full-text search structures of the index and the migration that builds them.

SQLite: an FTS5 table ``documents_fts`` (contentless: the text is kept once, in ``documents``), kept in
step with ``documents`` by triggers, so every writer (pipeline, review, reindex, bulk loads) updates it.
Its columns are the exact-lower text, the folded text, the folded type (one token), the folded issuer
and tags (kind, cleared/review). Its rowid is the document's ``search_rowid``: the issued date
(``yyyymmdd``) times 2**32 plus a number allocated within that day, so the FTS rowid order *is* the
newest-first order and a date range is a rowid range.

PostgreSQL: generated ``tsvector`` columns (``simple`` configuration over the folded and the
exact-lower copies, which Python builds the same way for both back-ends, so no ``unaccent``
extension or superuser is needed) with GIN indexes, and a B-tree on the issued date.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.folding import SEARCH_FIELDS, search_columns, words

DAY = 4294967296  # 2**32 rowids per issued date

# issued_date 'YYYY-MM-DD' -> YYYYMMDD, anything else (NULL, partial) -> 0 (sorts last)
_DAYNUM = ("(CASE WHEN {d} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' "
           "THEN CAST(substr({d},1,4)||substr({d},6,2)||substr({d},9,2) AS INTEGER) ELSE 0 END)")


FOLD_MARK = "\u01c0"  # (ǀ) put before every folded word in FTS5, so a folded and an exact word never share a token


def _fts_values(row: str) -> str:
    """The FTS column values of a ``documents`` row (``new`` or ``old`` in a trigger), in column order.
    Tags hold what the search leaves out: documents that are no result, and those awaiting review."""
    return (f"{row}.search_lower, "
            f"CASE WHEN {row}.search_folded = '' THEN '' "
            f"ELSE '{FOLD_MARK}' || replace({row}.search_folded, ' ', ' {FOLD_MARK}') END, "
            f"coalesce({row}.search_pairs, ''), replace({row}.doc_type_folded, ' ', ''), {row}.issuer_folded, "
            f"CASE WHEN {row}.kind = 'result' THEN '' ELSE 'other ' END || "
            f"CASE WHEN {row}.needs_review THEN 'review' ELSE '' END")


def _alloc(row: str) -> str:
    """SQL for a free rowid in the day of ``row``'s issued date (the last used one + 1)."""
    day = _DAYNUM.format(d=f"{row}.issued_date")
    return (f"coalesce((SELECT rowid + 1 FROM documents_fts WHERE rowid >= {day} * {DAY} "
            f"AND rowid < ({day} + 1) * {DAY} ORDER BY rowid DESC LIMIT 1), {day} * {DAY})")


_COLS = "exact, folded, pairs, doctype, issuer, tags"

SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5({_COLS}, content='', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_documents_search_rowid ON documents (search_rowid)",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_ai AFTER INSERT ON documents BEGIN
        UPDATE documents SET search_rowid = {_alloc('new')} WHERE rowid = new.rowid;
        INSERT INTO documents_fts(rowid, {_COLS})
            SELECT search_rowid, {_fts_values('new')} FROM documents WHERE rowid = new.rowid;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_ad AFTER DELETE ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, {_COLS})
            VALUES ('delete', old.search_rowid, {_fts_values('old')});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_au AFTER UPDATE OF search_lower, search_folded, search_pairs,
        doc_type_folded,
        issuer_folded, issued_date, kind, needs_review ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, {_COLS})
            VALUES ('delete', old.search_rowid, {_fts_values('old')});
        UPDATE documents SET search_rowid = {_alloc('new')} WHERE rowid = new.rowid;
        INSERT INTO documents_fts(rowid, {_COLS})
            SELECT search_rowid, {_fts_values('new')} FROM documents WHERE rowid = new.rowid;
    END""",
]

POSTGRES_DDL = [
    # one ALTER: the table is rewritten once to fill the three generated columns
    "ALTER TABLE documents "
    "ADD COLUMN IF NOT EXISTS search_pairs_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(search_pairs, ''))) STORED, "
    "ADD COLUMN IF NOT EXISTS search_exact_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_lower)) STORED, "
    "ADD COLUMN IF NOT EXISTS search_folded_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_folded)) STORED, "
    "ADD COLUMN IF NOT EXISTS issuer_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, issuer_folded)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_documents_pairs_tsv ON documents USING gin (search_pairs_tsv)",
    "CREATE INDEX IF NOT EXISTS ix_documents_exact_tsv ON documents USING gin (search_exact_tsv)",
    "CREATE INDEX IF NOT EXISTS ix_documents_folded_tsv ON documents USING gin (search_folded_tsv)",
    "CREATE INDEX IF NOT EXISTS ix_documents_issuer_tsv ON documents USING gin (issuer_tsv)",
    "CREATE INDEX IF NOT EXISTS ix_documents_type ON documents (doc_type_folded)",
]
# the listing's order (SQLite puts NULL last in a DESC index by itself; PostgreSQL has to be told)
DATE_INDEX = "CREATE INDEX IF NOT EXISTS ix_documents_date ON documents (issued_date DESC{nulls}, doc_id)"


def migrate_search(conn: Connection) -> None:
    """Schema v3: build the full-text index (for an existing archive, over every document it holds)."""
    cols = {c["name"] for c in sa.inspect(conn).get_columns("documents")}
    if "search_rowid" not in cols:
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN search_rowid BIGINT")
    if "search_pairs" not in cols:
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN search_pairs TEXT")
    _normalize_search_columns(conn)
    conn.exec_driver_sql(DATE_INDEX.format(nulls=" NULLS LAST" if conn.dialect.name == "postgresql" else ""))
    if conn.dialect.name == "postgresql":
        for ddl in POSTGRES_DDL:
            conn.exec_driver_sql(ddl)
        return
    day = _DAYNUM.format(d="issued_date")
    # existing rows: a unique number within each day (the table's rowid), then the index in one pass
    conn.exec_driver_sql(f"UPDATE documents SET search_rowid = {day} * {DAY} + rowid")
    conn.exec_driver_sql(f"CREATE VIRTUAL TABLE documents_fts USING fts5({_COLS}, content='', "
                         "tokenize='unicode61 remove_diacritics 0')")
    conn.exec_driver_sql(f"INSERT INTO documents_fts(rowid, {_COLS}) "
                         f"SELECT search_rowid, {_fts_values('documents')} FROM documents")
    # one segment per term (the bulk insert left many): a query seeks in one doclist, not in dozens
    conn.exec_driver_sql("INSERT INTO documents_fts(documents_fts) VALUES ('optimize')")
    for ddl in SQLITE_DDL[1:]:
        conn.exec_driver_sql(ddl)


def _normalize_search_columns(conn: Connection, batch: int = 5000) -> int:
    """Rewrite the search copies of rows written before v3 (raw lower-cased text, no word pairs) as words
    separated by one space, the form every tokeniser cuts like the query (``45/GPXD`` -> ``45 gpxd``),
    and their pairs; returns how many rows changed. Rows already in that form are only read."""
    docs = sa.table("documents", *(sa.column(n) for n in ("doc_id", "search_lower", "search_pairs", "text",
                                                              "dossier_id",
                                                              "search_folded", "doc_type_folded", "issuer_folded",
                                                              *SEARCH_FIELDS)))
    last, changed = "", 0
    while True:
        rows = conn.execute(sa.select(docs.c.doc_id, docs.c.search_lower, docs.c.search_pairs.is_(None))
                            .where(docs.c.doc_id > last).order_by(docs.c.doc_id).limit(batch)).all()
        if not rows:
            return changed
        last = rows[-1].doc_id
        stale = [r[0] for r in rows if r[2] or " ".join(words(r[1])) != r[1]]
        if not stale:
            continue
        for r in conn.execute(sa.select(docs).where(docs.c.doc_id.in_(stale))).all():
            cols = search_columns({k: getattr(r, k) for k in SEARCH_FIELDS}, r.text, r.dossier_id)
            conn.execute(docs.update().where(docs.c.doc_id == r.doc_id).values(**cols))
            changed += 1


# PostgreSQL, schema v4: the narrow search table. A row check of the words on ``documents`` reads the
# TOASTed tsvector of a ~9 kB row (~6-10 us); here the folded words (positions stripped: the widest tier
# is an AND of words) and the filter columns sit inline in a row of ~0.9 kB. Its date index (and type +
# date index) also carries the filter columns and a 256-bit signature of the folded words and of the
# issuer's words (bit = first byte of the word's md5, stable across PostgreSQL versions), so a walk in
# date order tests every candidate on the index alone (index-only scan, ~0.3 us) and reads the row (~2 us)
# only for the few whose signature holds every query word, to check the words themselves.
SIG_FUNCTION = """CREATE OR REPLACE FUNCTION search_sig(words text[]) RETURNS bit(256)
    IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT coalesce(bit_or(set_bit(repeat('0', 256)::bit(256), get_byte(decode(md5(w), 'hex'), 0), 1)),
                    repeat('0', 256)::bit(256)) FROM unnest(words) w $$"""
_SIG_COLUMNS = "kind, needs_review, words_sig, issuer_sig"
def sync_function(*, tiers: bool) -> str:
    """The trigger function that keeps ``search_rows`` (schema v4) and, with ``tiers``, ``search_tiers``
    (schema v5) in step with ``documents``: one function for every write, TRUNCATE included."""
    tables = "search_rows, search_tiers" if tiers else "search_rows"
    delete_tiers = "\n                DELETE FROM search_tiers WHERE doc_id = OLD.doc_id;" if tiers else ""
    insert_tiers = """
        INSERT INTO search_tiers (doc_id, issued_date, exact_tsv, pairs_tsv)
        VALUES (NEW.doc_id, NEW.issued_date, strip(NEW.search_exact_tsv), strip(NEW.search_pairs_tsv))
        ON CONFLICT (doc_id) DO UPDATE SET issued_date = EXCLUDED.issued_date, exact_tsv = EXCLUDED.exact_tsv,
            pairs_tsv = EXCLUDED.pairs_tsv;""" if tiers else ""
    return f"""CREATE OR REPLACE FUNCTION search_rows_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            TRUNCATE {tables};
            RETURN NULL;
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            IF TG_OP = 'DELETE' OR OLD.doc_id <> NEW.doc_id THEN
                DELETE FROM search_rows WHERE doc_id = OLD.doc_id;{delete_tiers}
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN NULL;
            END IF;
        END IF;
        INSERT INTO search_rows (doc_id, issued_date, kind, needs_review, doc_type_folded, issuer_tsv, folded_tsv)
        VALUES (NEW.doc_id, NEW.issued_date, NEW.kind, NEW.needs_review, NEW.doc_type_folded, NEW.issuer_tsv,
                strip(NEW.search_folded_tsv))
        ON CONFLICT (doc_id) DO UPDATE SET issued_date = EXCLUDED.issued_date, kind = EXCLUDED.kind,
            needs_review = EXCLUDED.needs_review, doc_type_folded = EXCLUDED.doc_type_folded,
            issuer_tsv = EXCLUDED.issuer_tsv, folded_tsv = EXCLUDED.folded_tsv;{insert_tiers}
        RETURN NULL;
    END $$"""


SEARCH_ROWS_DDL = [
    SIG_FUNCTION,
    "CREATE TABLE IF NOT EXISTS search_rows (doc_id VARCHAR(64) PRIMARY KEY, issued_date VARCHAR(10), "
    "kind VARCHAR(16) NOT NULL, needs_review BOOLEAN NOT NULL, doc_type_folded TEXT NOT NULL, "
    "issuer_tsv TSVECTOR, folded_tsv TSVECTOR, "
    "words_sig BIT(256) GENERATED ALWAYS AS (search_sig(tsvector_to_array(folded_tsv))) STORED, "
    "issuer_sig BIT(256) GENERATED ALWAYS AS (search_sig(tsvector_to_array(issuer_tsv))) STORED)",
    # inline (compressed if need be), never out of line: a row check must not read the TOAST table
    "ALTER TABLE search_rows ALTER COLUMN folded_tsv SET STORAGE MAIN, "
    "ALTER COLUMN issuer_tsv SET STORAGE MAIN",
    sync_function(tiers=False),
    "DROP TRIGGER IF EXISTS search_rows_sync ON documents",
    "CREATE TRIGGER search_rows_sync AFTER INSERT OR UPDATE OR DELETE ON documents "
    "FOR EACH ROW EXECUTE FUNCTION search_rows_sync()",
    "DROP TRIGGER IF EXISTS search_rows_truncate ON documents",
    "CREATE TRIGGER search_rows_truncate AFTER TRUNCATE ON documents "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_rows_sync()",
    "INSERT INTO search_rows (doc_id, issued_date, kind, needs_review, doc_type_folded, issuer_tsv, folded_tsv) "
    "SELECT doc_id, issued_date, kind, needs_review, doc_type_folded, issuer_tsv, strip(search_folded_tsv) "
    "FROM documents ON CONFLICT (doc_id) DO NOTHING",
    "CREATE INDEX IF NOT EXISTS ix_search_rows_date ON search_rows (issued_date DESC NULLS LAST, doc_id) "
    f"INCLUDE ({_SIG_COLUMNS})",
    "CREATE INDEX IF NOT EXISTS ix_search_rows_type ON search_rows "
    f"(doc_type_folded, issued_date DESC NULLS LAST, doc_id) INCLUDE ({_SIG_COLUMNS})",
    "ANALYZE search_rows",  # (autovacuum then marks its pages all-visible, for the index-only scans)
]


def migrate_search_rows(conn: Connection) -> None:
    """Schema v4: PostgreSQL's narrow search table ``search_rows``, filled from every document and kept in
    step by a trigger on ``documents`` (every writer); nothing for SQLite (FTS5 is its own table)."""
    if conn.dialect.name != "postgresql":
        return
    for ddl in SEARCH_ROWS_DDL:
        conn.exec_driver_sql(ddl)


# PostgreSQL, schema v5: what the tiers read besides the folded words. Ranking a row from ``documents``
# reads its TOASTed pairs and exact tsvectors, out of line and compressed (~15-25 us a row warm, more cold),
# and every mention in the tier's conditions reads them again unless copied. Here they sit without
# positions (the tiers are ANDs and ORs of words and pair tokens), with the issued date, in a row of their
# own, inline and uncompressed (``toast_tuple_target``: compressed only past 8 kB), so the conditions
# test them in place (~2-4 us a row). Not in ``search_rows``: its walk reads rows for the folded words
# and stays narrow (~0.8 kB a row, where the pairs alone are ~2.6 kB).
SEARCH_TIERS_DDL = [
    "CREATE TABLE IF NOT EXISTS search_tiers (doc_id VARCHAR(64) PRIMARY KEY, issued_date VARCHAR(10), "
    "exact_tsv TSVECTOR, pairs_tsv TSVECTOR) WITH (toast_tuple_target = 8160)",
    # inline, never out of line (MAIN), and compressed only past toast_tuple_target (see above)
    "ALTER TABLE search_tiers ALTER COLUMN exact_tsv SET STORAGE MAIN, ALTER COLUMN pairs_tsv SET STORAGE MAIN",
    sync_function(tiers=True),
    "INSERT INTO search_tiers (doc_id, issued_date, exact_tsv, pairs_tsv) "
    "SELECT doc_id, issued_date, strip(search_exact_tsv), strip(search_pairs_tsv) FROM documents "
    "ON CONFLICT (doc_id) DO NOTHING",
    "ANALYZE search_tiers",
]


def migrate_search_tiers(conn: Connection) -> None:
    """Schema v5: PostgreSQL's ``search_tiers`` (issued date, exact words and word pairs without positions:
    one narrow row per document), filled from every document and kept in step by the ``search_rows``
    trigger; nothing for SQLite (its ranking reads the FTS columns' text)."""
    if conn.dialect.name != "postgresql":
        return
    for ddl in SEARCH_TIERS_DDL:
        conn.exec_driver_sql(ddl)
