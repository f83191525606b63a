"""Document search over the full-text index (SQLite FTS5 or PostgreSQL tsvector; see search_sql.py).

Every query word must occur, as a word, in the diacritic-folded text of a document (its metadata,
dossier code and OCR text), so "kien xuong" finds "Kiến Xương" and "Kiến Xương" finds "Kien Xuong".
Results come in tiers, best first; within a tier the newest issued date first:

1. the query's phrase spelt exactly (diacritics included);
2. the folded phrase, every word spelt exactly;  3. the folded phrase, some word spelt exactly;
4. the folded phrase;  5. every word, spelt exactly;  6. every word, some spelt exactly;  7. every word.

The total is counted up to ``TOTAL_CAP`` matches (beyond, the result says so: ``total_is_exact`` is
false), as search engines do, so a query matching half the archive costs no more than one matching a
thousand. The matches of the last (widest) tier are fetched first, up to that cap:

- none: done;
- all of them (at most ``TOTAL_CAP``; in SQLite at most ``SMALL``): they are ranked from one more read
  instead of a query per tier (an index query whose words are common but whose combination is rare
  walks long posting lists to find nothing): PostgreSQL computes each one's tier in that query,
  SQLite's are computed in Python from their search columns (storage/search_rank.py);
- more: each tier is one index query that stops after the rows it needs (newest first is the FTS rowid
  order in SQLite, a B-tree order in PostgreSQL), asked part by part of the newest-first order: in
  SQLite first among the widest tier's newest ``TOTAL_CAP + 1`` matches (a rowid range), in PostgreSQL
  first among the newest ~1 % of documents by issued date (from the planner's statistics), then in the
  rest, so a tier with many matches sorts only its newest and a rare one is looked for further only if
  needed (in one more query: each query of a tier reads its posting lists again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs, words
from storage.schema import documents
from storage.search_rank import tier_of
from storage.search_sql import DAY, FOLD_MARK

MAX_TOKENS = 12
TOTAL_CAP = 1000  # matches counted; a query with more says "more than 1000" (total_is_exact false)
PROBE = 256  # SQLite: a match set smaller than this is read ascending, whole (see _sqlite's rowids)
SMALL = 200  # SQLite: a complete set of matches this small is ranked in Python from its search columns


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


class SearchResult(NamedTuple):
    """One page of a search: ``total`` matches (exact when ``total_is_exact``, else there are more than
    ``total``, which is ``TOTAL_CAP``) and the page's items, best first."""

    total: int
    items: list[Any]
    total_is_exact: bool = True


def search(engine: Engine, query: SearchQuery) -> SearchResult:
    """The matches' total (counted up to ``TOTAL_CAP``) and one page of ``documents`` rows, best first."""
    q_words = words(query.q or "")[:MAX_TOKENS]
    if query.q and query.q.strip() and not q_words:
        return SearchResult(0, [])  # punctuation only: no word can match
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return _sqlite(conn, query, q_words)
        return _plain(conn, query, q_words)


Tier = Callable[[int, int], list[Any]]  # (n, part) -> up to n keys of the tier in that part, newest first


def _collect(tiers: list[Tier], want: int, parts: int) -> list[Any]:
    """Keys of the first ``want`` results: walk the tiers best first, each asked for as many rows as still
    needed, part by part (the parts split the newest-first order: the newest matches first)."""
    seen: dict[Any, None] = {}
    for tier in tiers:
        if len(seen) >= want:
            break
        got: list[Any] = []  # rows of earlier tiers may come again: ask for as many as wanted in all
        for part in range(parts):
            got += tier(want - len(got), part)
            if len(got) >= want:
                break
        for key in got:
            if key not in seen:
                seen[key] = None
                if len(seen) >= want:
                    break
    return list(seen)


def _in_order(rows: list[Any], tier: Callable[[Any], int]) -> list[Any]:
    """The keys (first column) of rows in result order: tier, then the back-end's newest-first order
    (SQLite: the FTS rowid descending; PostgreSQL: issued date descending, no date last, then doc_id)."""
    if rows and isinstance(rows[0][0], int):
        rows.sort(key=lambda r: -r[0])
    else:
        rows.sort(key=lambda r: r[0])
        rows.sort(key=lambda r: r.issued_date or "", reverse=True)
        rows.sort(key=lambda r: r.issued_date is None)
    rows.sort(key=tier)
    return [r[0] for r in rows]


def _rank_small(conn: Connection, keys: list[int], q_words: list[str]) -> list[int]:
    """SQLite: the FTS rowids of a small complete set of matches in result order, their tiers computed in
    Python from their search columns (storage/search_rank.py)."""
    c = documents.c
    rows = conn.execute(sa.select(c.search_rowid, c.issued_date, c.search_lower, c.search_folded, c.search_pairs)
                        .where(c.search_rowid.in_(keys))).all()
    return _in_order(rows, lambda r: tier_of(q_words, r.search_lower, r.search_folded, r.search_pairs or ""))


def _page(conn: Connection, key: sa.ColumnElement[Any], keys: list[Any], head: list[Any]) -> SearchResult:
    """The result: the page's rows (in ``keys`` order) and the total from ``head``, the widest tier's
    matches fetched up to one more than the cap."""
    total, exact = min(len(head), TOTAL_CAP), len(head) <= TOTAL_CAP
    if not keys:
        return SearchResult(total, [], exact)
    rows = {r._mapping[key.name]: r for r in conn.execute(sa.select(documents).where(key.in_(keys)))}
    return SearchResult(total, [rows[k] for k in keys if k in rows], exact)


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
    """The seven tiers, best first (each a subset of the last: every word, folded). Every word spelt exactly
    implies every word folded, so the fifth is asked without the folded words (one posting list less)."""
    return [phrase_e, both(phrase_f, all_e), both(phrase_f, any_e), phrase_f, all_e, both(all_f, any_e), all_f]


def _sqlite(conn: Connection, query: SearchQuery, q_words: list[str]) -> SearchResult:
    positive, negative = [], ['tags : "other"']
    if query.cleared_only:
        negative.append('tags : "review"')
    if query.doc_type:
        positive.append(f"doctype : {_quote(fold(query.doc_type).replace(' ', ''))}")
    if query.issuer:
        issuer = words(fold(query.issuer))
        if not issuer:
            return SearchResult(0, [])
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

    def rowids(expr: str, a: int, b: int, n: int) -> list[Any]:
        """The newest n matches in [a, b). FTS5 skips through posting lists only in ascending order, so a
        rare match set is read whole ascending; the descending walk is for one with more than PROBE."""
        sql = ("SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND rowid < ? "
               "ORDER BY rowid {} LIMIT ?")
        probe = max(n, PROBE)
        found = [r[0] for r in conn.exec_driver_sql(sql.format("ASC"), (match(expr), a, b, probe))]
        if len(found) < probe:
            return found[::-1][:n]
        return [r[0] for r in conn.exec_driver_sql(sql.format("DESC"), (match(expr), a, b, n))]

    want = query.offset + query.limit
    head = rowids(tiers[-1], lo, hi, TOTAL_CAP + 1)  # the widest tier's newest matches: the total, the window
    complete = len(head) <= TOTAL_CAP
    if complete and len(head) <= SMALL:
        keys = _rank_small(conn, head, q_words)
    elif head:
        cut = head[-1]  # the window: rowids >= cut, where the widest tier's matches are all in head

        def run(expr: str) -> Tier:
            return lambda n, part: rowids(expr, lo, cut, n) if part else rowids(expr, cut, hi, n)

        widest = run(tiers[-1])
        keys = _collect([*(run(t) for t in tiers[:-1]), lambda n, part: widest(n, part) if part else head[:n]],
                        want, 1 if complete else 2)
    else:
        keys = []
    return _page(conn, documents.c.search_rowid, keys[query.offset:want], head)


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


def _plain(conn: Connection, query: SearchQuery, q_words: list[str]) -> SearchResult:
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

    # the newest-first order in parts by issued date, newest ~1 %, the rest: a tier with many matches
    # is sorted within the first part only
    cuts = _date_cuts(conn, query)
    parts = [c.issued_date >= d for d in cuts[:1]]
    parts += [sa.and_(c.issued_date >= d, c.issued_date < up) for up, d in zip(cuts, cuts[1:], strict=False)]
    parts.append(sa.or_(c.issued_date < cuts[-1], c.issued_date.is_(None)) if cuts else sa.true())

    def run(cond: sa.ColumnElement[bool]) -> Tier:
        return lambda n, part: [r[0] for r in conn.execute(
            sa.select(c.doc_id).where(cond, parts[part], *where).order_by(*order).limit(n))]

    want = query.offset + query.limit
    # the widest tier's matches in no order, up to one more than the cap: the total, and every match when few
    head = [r[0] for r in conn.execute(sa.select(c.doc_id).where(tiers[-1], *where).limit(TOTAL_CAP + 1))]
    if len(head) <= TOTAL_CAP:  # every match is in head: their tiers in one query, ranked here
        tier = (sa.case(*((t, i) for i, t in enumerate(tiers[:-1])), else_=len(tiers) - 1) if len(tiers) > 1
                else sa.literal(0))
        rows = conn.execute(sa.select(c.doc_id, c.issued_date, tier.label("tier")).where(c.doc_id.in_(head))).all()
        keys = _in_order(rows, lambda r: r.tier)
    else:
        keys = _collect([run(t) for t in tiers], want, len(parts))
    return _page(conn, c.doc_id, keys[query.offset:want], head)


def _date_cuts(conn: Connection, query: SearchQuery) -> list[str]:
    """The issued date that leaves about 1 % of the documents newer (PostgreSQL's planner statistics,
    ``pg_stats``: the histogram's bounds are equally many rows apart), as a list: empty when it is outside
    the query's date range or there are no statistics yet (the table was never analysed)."""
    if conn.dialect.name != "postgresql":
        return []
    bounds = conn.exec_driver_sql(
        "SELECT histogram_bounds::text::text[] FROM pg_stats WHERE tablename = 'documents' "
        "AND attname = 'issued_date' AND schemaname = current_schema()").scalar()
    if not bounds or len(bounds) < 20:
        return []
    cuts = [bounds[-1 - max(1, len(bounds) // 100)]]
    lo = query.date_from.isoformat() if query.date_from else ""
    hi = query.date_to.isoformat() if query.date_to else "9999"
    return sorted({d for d in cuts if lo < d <= hi}, reverse=True)
