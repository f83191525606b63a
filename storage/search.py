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

from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs, words
from storage.schema import documents
from storage.search_sql import DAY, FOLD_MARK

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
        return _plain(conn, query, q_words)


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
    folded_words = [fold(w) for w in q_words]
    exact = [_quote(w) for w in q_words]
    folded = [_quote(FOLD_MARK + w) for w in folded_words]
    all_e = f"exact : ({' AND '.join(exact)})"
    any_e = f"exact : ({' OR '.join(exact)})"
    all_f = f"folded : ({' AND '.join(folded)})"
    if len(q_words) == 1:
        phrase_e, phrase_f = all_e, all_f
    else:
        phrase_e = f"pairs : ({' AND '.join(_quote(p) for p in pairs(q_words, PAIR_EXACT))})"
        phrase_f = f"pairs : ({' AND '.join(_quote(p) for p in pairs(folded_words, PAIR_FOLDED))})"
    return _tiers(phrase_e, phrase_f, all_e, any_e, all_f, lambda a, b: f"{a} AND {b}")


def _tiers(phrase_e: Any, phrase_f: Any, all_e: Any, any_e: Any, all_f: Any, both: Callable[[Any, Any], Any]
           ) -> list[Any]:
    """The seven tiers, best first (each a subset of the last: every word, folded)."""
    return [phrase_e, both(phrase_f, all_e), both(phrase_f, any_e), phrase_f,
            both(all_f, all_e), both(all_f, any_e), all_f]


def _sqlite(conn: Connection, query: SearchQuery, q_words: list[str]) -> tuple[int, list[Any]]:
    positive, negative = [], ['tags : "other"']
    if query.cleared_only:
        negative.append('tags : "review"')
    if query.doc_type:
        positive.append(f"doctype : {_quote(fold(query.doc_type).replace(' ', ''))}")
    if query.issuer:
        issuer = words(fold(query.issuer))
        if not issuer:
            return 0, []
        positive.append(f"issuer : {_quote(' '.join(issuer))}")
    if not q_words and not positive:  # nothing to match: list by date from the table
        return _plain(conn, query, [])
    lo, hi = 0, (99991231 + 1) * DAY
    if query.date_from:
        lo = int(query.date_from.strftime("%Y%m%d")) * DAY
    elif query.date_to:
        lo = DAY  # a date range leaves out documents without a date
    if query.date_to:
        hi = (int(query.date_to.strftime("%Y%m%d")) + 1) * DAY
    tiers = _fts_tiers(q_words) if q_words else [""]
    exclude = f" NOT ({' OR '.join(negative)})"

    def match(expr: str) -> str:
        return " AND ".join(f"({e})" for e in [expr, *positive] if e) + exclude

    def run(expr: str) -> Callable[[int], list[Any]]:
        return lambda n: [r[0] for r in conn.exec_driver_sql(
            "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND rowid < ? "
            "ORDER BY rowid DESC LIMIT ?", (match(expr), lo, hi, n))]

    keys = _collect([run(t) for t in tiers], query)
    total = conn.exec_driver_sql("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ? "
                                 "AND rowid >= ? AND rowid < ?", (match(tiers[-1]), lo, hi)).scalar() or 0
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
    all_e = _ts("search_exact_tsv", "plainto_tsquery", exact)
    any_e = _ts("search_exact_tsv", "to_tsquery", " | ".join(_pg_lexeme(w) for w in q_words))
    all_f = _ts("search_folded_tsv", "plainto_tsquery", folded)
    if len(q_words) == 1:
        phrase_e, phrase_f = all_e, all_f
    else:
        phrase_e = _ts("search_pairs_tsv", "plainto_tsquery", " ".join(pairs(q_words, PAIR_EXACT)))
        phrase_f = _ts("search_pairs_tsv", "plainto_tsquery", " ".join(pairs(folded.split(" "), PAIR_FOLDED)))
    return _tiers(phrase_e, phrase_f, all_e, any_e, all_f, sa.and_)


def _pg_lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"


def _plain(conn: Connection, query: SearchQuery, q_words: list[str]) -> tuple[int, list[Any]]:
    """PostgreSQL's search (tsvector columns), and either back-end's listing when nothing is to be matched."""
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
