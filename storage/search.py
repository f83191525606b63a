"""Document search over the full-text index (SQLite FTS5 or PostgreSQL tsvector; see search_sql.py).

Every query word must occur, as a word, in the diacritic-folded text of a document (its metadata,
dossier code and OCR text), so "kien xuong" finds "Kiến Xương" and "Kiến Xương" finds "Kien Xuong".
Results come in tiers, best first; within a tier the newest issued date first:

1. the query's phrase spelt exactly (diacritics included);
2. the folded phrase, every word spelt exactly;  3. the folded phrase, some word spelt exactly;
4. the folded phrase;  5. every word, spelt exactly;  6. every word, some spelt exactly;  7. every word.

Each tier is one index query that stops after the rows it needs (newest first is the FTS rowid order
in SQLite, a B-tree order in PostgreSQL), so a query matching half a million documents costs no more
than one matching fifty; the total is one count over the index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.folding import fold, words
from storage.schema import documents
from storage.search_sql import DAY

MAX_TOKENS = 12


@dataclass(frozen=True)
class SearchQuery:
    """What the caller asked for (all optional; an empty query lists by date)."""

    q: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    limit: int = 20
    offset: int = 0
    cleared_only: bool = False  # only documents that need no review (what the portal role sees)


def search(engine: Engine, query: SearchQuery) -> tuple[int, list[Any]]:
    """(total matches, one page of ``documents`` rows, best first)."""
    q_words = words(query.q or "")[:MAX_TOKENS]
    if query.q and query.q.strip() and not q_words:
        return 0, []  # punctuation only: no word can match
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return _sqlite(conn, query, q_words)
        return _postgres(conn, query, q_words)


def _collect(tiers: list[Callable[[int], list[Any]]], query: SearchQuery) -> list[Any]:
    """Keys of the page: walk the tiers best first, each asked for as many rows as still needed."""
    want = query.offset + query.limit
    seen: dict[Any, None] = {}
    for tier in tiers:
        if len(seen) >= want:
            break
        for key in tier(want):  # rows of earlier tiers may come again: ask for as many as wanted in all
            if key not in seen:
                seen[key] = None
                if len(seen) >= want:
                    break
    return list(seen)[query.offset:want]


# --- SQLite: FTS5 -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fts_tiers(q_words: list[str]) -> list[str]:
    exact = [_quote(w) for w in q_words]
    folded = [_quote(fold(w)) for w in q_words]
    phrase_e = f"exact : {_quote(' '.join(q_words))}"
    phrase_f = f"folded : {_quote(' '.join(fold(w) for w in q_words))}"
    all_e = f"exact : ({' AND '.join(exact)})"
    any_e = f"exact : ({' OR '.join(exact)})"
    all_f = f"folded : ({' AND '.join(folded)})"
    return [phrase_e, f"{phrase_f} AND {all_e}", f"{phrase_f} AND {any_e}", phrase_f,
            f"{all_f} AND {all_e}", f"{all_f} AND {any_e}", all_f]


def _sqlite(conn: Connection, query: SearchQuery, q_words: list[str]) -> tuple[int, list[Any]]:
    filters = ['tags : "kindresult"']
    if query.cleared_only:
        filters.append('tags : "cleared"')
    if query.doc_type:
        filters.append(f"doctype : {_quote(fold(query.doc_type).replace(' ', ''))}")
    if query.issuer:
        issuer = words(fold(query.issuer))
        if not issuer:
            return 0, []
        filters.append(f"issuer : {_quote(' '.join(issuer))}")
    lo, hi = 0, (99991231 + 1) * DAY
    if query.date_from:
        lo = int(query.date_from.strftime("%Y%m%d")) * DAY
    if query.date_to:
        hi = (int(query.date_to.strftime("%Y%m%d")) + 1) * DAY
    if query.date_from is None:
        lo = 0 if query.date_to is None else DAY  # a date range leaves out documents without a date
    where = " AND ".join(filters)
    tiers = _fts_tiers(q_words) if q_words else [""]

    def run(expr: str) -> Callable[[int], list[Any]]:
        match = f"({expr}) AND {where}" if expr else where
        return lambda n: [r[0] for r in conn.exec_driver_sql(
            "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ?", (match, lo, hi, n))]

    keys = _collect([run(t) for t in tiers], query)
    total_match = f"({tiers[-1]}) AND {where}" if tiers[-1] else where
    total = conn.exec_driver_sql("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ? "
                                 "AND rowid >= ? AND rowid < ?", (total_match, lo, hi)).scalar() or 0
    if not keys:
        return int(total), []
    rows = {r.search_rowid: r for r in conn.execute(sa.select(documents)
                                                    .where(documents.c.search_rowid.in_(keys)))}
    return int(total), [rows[k] for k in keys if k in rows]


# --- PostgreSQL: tsvector -----------------------------------------------------------------------


def _ts(column: str, func: str, text: str) -> sa.ColumnElement[bool]:
    return sa.literal_column(column).op("@@")(getattr(sa.func, func)(sa.literal_column("'simple'::regconfig"),
                                                                     text))


def _pg_tiers(q_words: list[str]) -> list[sa.ColumnElement[bool]]:
    exact, folded = " ".join(q_words), " ".join(fold(w) for w in q_words)
    phrase_e = _ts("search_exact_tsv", "phraseto_tsquery", exact)
    phrase_f = _ts("search_folded_tsv", "phraseto_tsquery", folded)
    all_e = _ts("search_exact_tsv", "plainto_tsquery", exact)
    any_e = _ts("search_exact_tsv", "to_tsquery", " | ".join(_pg_lexeme(w) for w in q_words))
    all_f = _ts("search_folded_tsv", "plainto_tsquery", folded)
    return [phrase_e, sa.and_(phrase_f, all_e), sa.and_(phrase_f, any_e), phrase_f,
            sa.and_(all_f, all_e), sa.and_(all_f, any_e), all_f]


def _pg_lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"


def _postgres(conn: Connection, query: SearchQuery, q_words: list[str]) -> tuple[int, list[Any]]:
    c = documents.c
    where: list[sa.ColumnElement[bool]] = [c.kind == "result"]
    if query.cleared_only:
        where.append(c.needs_review.is_(False))
    if query.doc_type:
        where.append(c.doc_type_folded == fold(query.doc_type))
    if query.issuer:
        where.append(_ts("issuer_tsv", "phraseto_tsquery", fold(query.issuer)))
    if query.date_from:
        where.append(c.issued_date >= query.date_from.isoformat())
    if query.date_to:
        where.append(c.issued_date <= query.date_to.isoformat())
    tiers = _pg_tiers(q_words) if q_words else [sa.true()]
    order = (c.issued_date.desc().nulls_last(), c.doc_id)

    def run(cond: sa.ColumnElement[bool]) -> Callable[[int], list[Any]]:
        return lambda n: [r[0] for r in conn.execute(
            sa.select(c.doc_id).where(cond, *where).order_by(*order).limit(n))]

    keys = _collect([run(t) for t in tiers], query)
    total = conn.execute(sa.select(sa.func.count()).select_from(documents).where(tiers[-1], *where)).scalar() or 0
    if not keys:
        return int(total), []
    rows = {r.doc_id: r for r in conn.execute(sa.select(documents).where(c.doc_id.in_(keys)))}
    return int(total), [rows[k] for k in keys if k in rows]
