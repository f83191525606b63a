"""Document search over the full-text index (SQLite FTS5 or PostgreSQL tsvector; see search_sql.py).

Every query word must occur, as a word, in the diacritic-folded text of a document (its metadata,
dossier code and OCR text), so "kien xuong" finds "Kiến Xương" and "Kiến Xương" finds "Kien Xuong".
Results come in tiers, best first; within a tier the newest issued date first:

1. the query's phrase spelt exactly (diacritics included);
2. the folded phrase, every word spelt exactly;  3. the folded phrase, some word spelt exactly;
4. the folded phrase;  5. every word, spelt exactly;  6. every word, some spelt exactly;  7. every word.

The total is counted up to ``TOTAL_CAP`` matches (beyond, the result says so: ``total_is_exact`` is
false), as search engines do, so a query matching half the archive costs no more than one matching a
thousand: any ``TOTAL_CAP + 1`` matches of the last (widest) tier tell it. Then:

- a complete set of few matches is ranked from one read (SQLite: tiers computed in Python from the
  search columns, storage/search_rank.py; PostgreSQL: in that query);
- else the page comes from a window, the newest ``WINDOW`` matches of the widest tier, ranked from one
  read, and only better tiers too thin in it are looked for among the older matches (one query for all
  of them when they are few, else one per tier): storage/search_rank.py's ``page_from_window``. In
  SQLite a window whose rowid range is short (dense matches) is ranked by an index query per tier within
  that range instead, cheaper than reading the rows; in PostgreSQL the newest ``TOTAL_CAP + 1``
  matches (the total and the window) come from one walk of the narrow ``search_rows`` table in date
  order (storage/search_pg.py), a match set too sparse for it from the GIN indexes;
- a page beyond the window, or (PostgreSQL) a match set too sparse for it, is asked tier by tier: each
  tier one index query that stops after the rows it needs (newest first is the FTS rowid order in
  SQLite, a B-tree order in PostgreSQL), first among the newest matches, then among the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage import search_pg as pg
from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs, words
from storage.schema import documents
from storage.search_rank import Ranked, better_than, build_tiers, in_tier_order, page_from_window, reach, tier_function
from storage.search_sql import DAY, FOLD_MARK

MAX_TOKENS = 12
TOTAL_CAP = 1000  # matches counted; a query with more says "more than 1000" (total_is_exact false)
PROBE = 256  # SQLite: a match set smaller than this is read ascending, whole (see _sqlite's rowids)
SMALL = 200  # SQLite: a complete set of matches this small is ranked in Python from its search columns
WINDOW = 200  # the newest matches of the widest tier ranked in one read (storage/search_rank.py)
SPARSE = 20  # SQLite: a window whose rowid range holds this many documents per match is ranked in Python


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


def _rank_rows(conn: Connection, keys: list[int], q_words: list[str]) -> Ranked:
    """SQLite: FTS rowids (newest first) with their tiers, computed in Python from their search columns
    (storage/search_rank.py)."""
    if not keys:
        return []
    c = documents.c
    tier = tier_function(q_words)
    rows = conn.execute(sa.select(c.search_rowid, c.search_lower, c.search_folded, c.search_pairs)
                        .where(c.search_rowid.in_(keys))).all()
    tiers = {r[0]: tier(r.search_lower, r.search_folded, r.search_pairs or "") for r in rows}
    return [(k, tiers[k]) for k in keys if k in tiers]


def _sparse(conn: Connection, cut: int, hi: int, matches: int) -> bool:
    """SQLite: whether the FTS rowid range [cut, hi) holding ``matches`` matches holds more than ``SPARSE``
    times as many documents (counted on the rowid index, up to that)."""
    limit = SPARSE * matches
    return conn.exec_driver_sql(
        "SELECT count(*) FROM (SELECT 1 FROM documents WHERE search_rowid >= ? AND search_rowid < ? LIMIT ?)",
        (cut, hi, limit)).scalar() >= limit


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
    return build_tiers(phrase_e, phrase_f, all_e, any_e, all_f, lambda a, b: f"{a} AND {b}")


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

    def rowids(expr: str, a: int, b: int, n: int, desc: bool = False) -> list[Any]:
        """The newest n matches in [a, b). FTS5 skips through posting lists only in ascending order, so a
        rare match set is read whole ascending; the descending walk is for one with more than PROBE (or
        known to be many: ``desc``)."""
        sql = ("SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND rowid < ? "
               "ORDER BY rowid {} LIMIT ?")
        probe = max(n, PROBE)
        found = [] if desc else [r[0] for r in conn.exec_driver_sql(sql.format("ASC"), (match(expr), a, b, probe))]
        if len(found) < probe and not desc:
            return found[::-1][:n]
        return [r[0] for r in conn.exec_driver_sql(sql.format("DESC"), (match(expr), a, b, n))]

    want = query.offset + query.limit
    # any TOTAL_CAP + 1 matches of the widest tier tell the total (ascending: the cheap walk)
    sql = "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid"
    found = [r[0] for r in conn.exec_driver_sql(sql + " LIMIT ?", (match(tiers[-1]), lo, hi, TOTAL_CAP + 1))]
    complete = len(found) <= TOTAL_CAP
    if not q_words:  # filters only: one tier, newest first
        keys = found[::-1][:want] if complete else rowids(tiers[-1], lo, hi, want)
        return _page(conn, documents.c.search_rowid, keys[query.offset:want], found)
    if complete and len(found) <= SMALL:  # few: every match ranked in Python
        keys = in_tier_order(_rank_rows(conn, found[::-1], q_words))
        return _page(conn, documents.c.search_rowid, keys[query.offset:want], found)
    # the window: the newest WINDOW matches of the widest tier
    newest = found[::-1][:WINDOW] if complete else rowids(tiers[-1], lo, hi, WINDOW, desc=True)
    cut = newest[-1] if newest else hi  # older than the window: rowids < cut
    if len(newest) >= want and _sparse(conn, cut, hi, len(newest)):
        # its rowid range is long: ranked in Python from one read, not walked once per tier

        def older_union(best: int) -> Ranked | None:
            union = better_than(tiers, best, lambda a, b: f"({a}) OR ({b})")
            got = [r[0] for r in conn.exec_driver_sql(sql + " LIMIT ?", (match(union), lo, cut, PROBE))]
            return _rank_rows(conn, got[::-1], q_words) if len(got) < PROBE else None

        window = _rank_rows(conn, newest, q_words)
        keys = page_from_window(window, want, older_union, lambda s, n: rowids(tiers[s], lo, cut, n)) or []
    else:  # a short range: each tier is one index query within it, then (if needed) among the older matches

        def run(expr: str) -> Tier:
            return lambda n, part: rowids(expr, lo, cut, n) if part else rowids(expr, cut, hi, n)

        keys = _collect([run(t) for t in tiers], want, 1 if complete and cut == found[0] else 2)
    return _page(conn, documents.c.search_rowid, keys[query.offset:want], found)


# --- PostgreSQL: tsvector (storage/search_pg.py), and either back-end's listing -------------------


def _plain(conn: Connection, query: SearchQuery, q_words: list[str]) -> SearchResult:
    """PostgreSQL's search (tsvector columns), and either back-end's listing when nothing is to be matched."""
    c = documents.c
    where: list[sa.ColumnElement[bool]] = [c.kind == "result"]
    if query.cleared_only:
        where.append(c.needs_review.is_(False))
    if query.doc_type:
        where.append(c.doc_type_folded == fold(query.doc_type))
    dates = []
    if query.date_from:
        dates.append(c.issued_date >= query.date_from.isoformat())
    if query.date_to:
        dates.append(c.issued_date <= query.date_to.isoformat())
    where += dates
    # the better tiers among older matches when exact words are rare: GIN asked for the rare lists only
    lean_where = where + [pg.ts("issuer_tsv", "phraseto_tsquery", fold(query.issuer), indexable=False)
                          ] if query.issuer else list(where)
    if query.issuer:
        where.append(pg.ts("issuer_tsv", "phraseto_tsquery", fold(query.issuer)))
    tiers = pg.tier_conditions(q_words, sa.and_) if q_words else [sa.true()]
    order = (c.issued_date.desc().nulls_last(), c.doc_id)

    want = query.offset + query.limit
    # the newest matches by row checks in the narrow table (dense matches), else the widest tier's
    # matches from the GIN index in no order; up to one more than the cap: the total, and every match when few
    walked = _pg_newest(conn, query, q_words) if q_words else None
    newest, complete, rest, share = walked if walked is not None else (None, False, None, 1.0)
    head = ([k for k, _ in newest] if newest is not None else
            [r[0] for r in conn.execute(sa.select(c.doc_id).where(tiers[-1], *where).limit(TOTAL_CAP + 1))])
    if len(head) <= TOTAL_CAP or complete:  # every match is in head: their tiers in one query, ranked here
        rows = conn.execute(_tiered(head, _rank_tier(q_words)) if q_words else
                            sa.select(c.doc_id, c.issued_date, sa.literal(0).label("tier")).where(c.doc_id.in_(head))
                            ).all()
        keys = _in_order(rows, lambda r: r.tier)
        return _page(conn, c.doc_id, keys[query.offset:want], head)
    if newest is not None:
        # (with a type filter only: its B-tree bitmap leaves few rows to check; without, checking the folded
        # words of every row with an exact word costs more than decoding the folded lists)
        lean = (pg.tier_conditions(q_words, sa.and_, folded_indexable=False), lean_where) if query.doc_type else None
        keys = (_from_newest(conn, newest, tiers, where, _rank_tier(q_words), want, rest, share, lean)
                or _tier_by_tier(conn, query, tiers, where, want))
        return _page(conn, c.doc_id, keys[query.offset:want], head)
    filtered = bool(query.doc_type or query.issuer)
    window = _pg_window(conn, q_words, where, dates, filtered, want) if q_words else []
    if len(window) >= want:
        older = pg.after(window[-1][2], window[-1][0])

        def ranked(cond: sa.ColumnElement[bool], n: int) -> Ranked:
            inner = sa.select(c.doc_id).where(cond, older, *where).order_by(*order).limit(n).scalar_subquery()
            return _newest_first(conn.execute(_tiered(inner, _rank_tier(q_words))).all())

        def older_union(best: int) -> Ranked | None:
            got = ranked(better_than(tiers, best, sa.or_), PROBE)
            return got if len(got) < PROBE else None

        def older_tier(s: int, n: int) -> list[Any]:
            return [r[0] for r in conn.execute(sa.select(c.doc_id).where(tiers[s], older, *where)
                                               .order_by(*order).limit(n))]

        keys = page_from_window([(k, t) for k, t, _ in window], want, older_union, older_tier) or []
    else:  # a sparse match set, or a page beyond the window: tier by tier
        keys = _tier_by_tier(conn, query, tiers, where, want)
    return _page(conn, c.doc_id, keys[query.offset:want], head)


def _pg_newest(conn: Connection, query: SearchQuery, q_words: list[str]) -> pg.Walked | None:
    """PostgreSQL: the newest ``TOTAL_CAP + 1`` matches from the narrow search table (fewer: all of them,
    then true) and, with a type filter, how to get every older one; or None when they are too sparse for
    its walk (storage/search_pg.py)."""
    r = pg.search_rows.c
    filters: list[sa.ColumnElement[bool]] = [r.kind == "result"]
    if query.cleared_only:
        filters.append(r.needs_review.is_(False))
    if query.doc_type:
        filters.append(r.doc_type_folded == fold(query.doc_type))
    if query.date_from:
        filters.append(r.issued_date >= query.date_from.isoformat())
    if query.date_to:
        filters.append(r.issued_date <= query.date_to.isoformat())
    return pg.newest_matches(conn, q_words, filters, fold(query.issuer) if query.issuer else None, TOTAL_CAP,
                             narrow=bool(query.doc_type))


def _from_newest(conn: Connection, newest: list[tuple[Any, Any]], tiers: list[sa.ColumnElement[bool]],
                 where: list[sa.ColumnElement[bool]], tier: sa.ColumnElement[int], want: int,
                 rest_of: Callable[[], list[tuple[Any, Any]] | None] | None, share: float,
                 lean: tuple[list[sa.ColumnElement[bool]], list[sa.ColumnElement[bool]]] | None
                 ) -> list[Any] | None:
    """PostgreSQL: the first ``want`` keys from the newest ``TOTAL_CAP + 1`` matches (newest first, more
    exist): the newest ``WINDOW`` (at least ``want``) ranked. When better tiers are too thin in them, every
    older match is ranked if ``rest_of`` gives them all (a type filter's walk goes on); else the rest of
    ``newest`` is ranked too if the window's share of the best tier promises the page there (then
    only the tiers better than what those reach are asked of the GIN indexes among the older matches);
    else the better tiers are asked among the matches older than the window at once (up to
    ``OLDER_PROBE``: a GIN query costs the same for many rows as for a few), unless the window's share of
    them and ``share`` (of the candidates the walk read, that matched) promise more. When under ``RARE`` of
    the window holds an exact word, that union uses ``lean`` (tiers, where; given with a type filter): its
    GIN query reads the rare
    posting lists (exact words, pairs) and checks the common ones (folded words, issuer) on the rows it
    finds (unaccented "quyet dinh cap phep" + type + issuer: 71 -> 25 ms at 1,000,000 documents). None
    when ``want`` is beyond ``newest``."""
    c = documents.c
    order = (c.issued_date.desc().nulls_last(), c.doc_id)
    keys = [k for k, _ in newest]

    def rank(part: list[Any]) -> Ranked:
        tiers_of = {r[0]: r.tier for r in conn.execute(_tiered(part, tier))}
        return [(k, tiers_of[k]) for k in part if k in tiers_of]

    def older(cond: sa.ColumnElement[bool], than: tuple[Any, Any], filters: list[sa.ColumnElement[bool]] = where
              ) -> Ranked | None:
        inner = (sa.select(c.doc_id).where(cond, pg.after(than[1], than[0]), *filters).order_by(*order)
                 .limit(pg.OLDER_PROBE).scalar_subquery())
        rows = conn.execute(_tiered(inner, tier)).all()
        return None if len(rows) >= pg.OLDER_PROBE else _newest_first(rows)

    size = len(keys[:max(WINDOW, want)])
    window = rank(keys[:size])

    def older_union(best: int) -> Ranked | None:
        later = rest_of() if rest_of is not None else None
        if later is not None:  # every match older than newest, known: all older than the window ranked
            return [r for r in rank(keys[size:] + [k for k, _ in later]) if r[1] < best]
        if sum(t == 0 for _, t in window) * len(keys) < want * size:  # the rest would not hold the page
            # the better tiers' share of the window times the matches (the walk's share of the documents)
            # promising more than one union query returns: asked tier by tier instead
            many = sum(t < best for _, t in window) * share * pg.documents_estimate(conn)
            if many >= pg.OLDER_PROBE * len(window):
                return None
            if lean is not None and sum(t not in (3, 6) for _, t in window) < pg.RARE * len(window):  # rare exact
                return older(better_than(lean[0], best, sa.or_), newest[size - 1], lean[1])
            return older(better_than(tiers, best, sa.or_), newest[size - 1])
        rest = rank(keys[size:])
        reached = reach(window + rest, want)
        got = older(better_than(tiers, reached, sa.or_), newest[-1]) if reached else []
        return None if got is None else [r for r in rest if r[1] < best] + got

    def older_tier(s: int, n: int) -> list[Any]:
        last = newest[size - 1]
        # a tier rare among the newest matches is read from its GIN index and sorted: the date index would
        # check the words of many rows (TOASTed) before finding n
        rare = sum(t <= s for _, t in window) < pg.RARE * len(window)
        pg.planner(conn, indexscan=not rare)
        got = [r[0] for r in conn.execute(sa.select(c.doc_id).where(tiers[s], pg.after(last[1], last[0]), *where)
                                          .order_by(*order).limit(n))]
        pg.planner(conn, indexscan=True)
        return got

    return page_from_window(window, want, older_union, older_tier)


def _tiered(keys: Any, tier: sa.ColumnElement[int]) -> sa.Select[Any]:
    """PostgreSQL: (doc_id, issued_date, tier) of the documents whose doc_id is in ``keys`` (a list or a
    subquery), every one a match of the widest tier; ``tier`` (``_rank_tier``) reads the narrow
    ``search_tiers`` (schema v5, storage/search_sql.py), never ``documents``' TOASTed tsvectors."""
    t = pg.search_tiers.c
    return sa.select(t.doc_id, t.issued_date, tier).where(t.doc_id.in_(keys))


def _rank_tier(q_words: list[str]) -> sa.ColumnElement[int]:
    """PostgreSQL: the tier of a ``search_tiers`` row known to match the widest tier (0 best .. 6)."""
    tiers = pg.tier_conditions(q_words, sa.and_, matched=True, exact_col="exact_tsv", pairs_col="pairs_tsv")
    return sa.case(*((t, i) for i, t in enumerate(tiers[:-1])), else_=len(tiers) - 1).label("tier")


def _sorted_newest(rows: list[Any]) -> list[Any]:
    """``_tiered`` rows in the newest-first order: issued date descending, no date last, then doc_id."""
    rows = sorted(rows, key=lambda r: r.doc_id)
    rows.sort(key=lambda r: r.issued_date or "", reverse=True)
    rows.sort(key=lambda r: r.issued_date is None)
    return rows


def _newest_first(rows: list[Any]) -> Ranked:
    """(doc_id, tier) of ``_tiered`` rows in the newest-first order."""
    return [(r.doc_id, r.tier) for r in _sorted_newest(rows)]


def _tier_by_tier(conn: Connection, query: SearchQuery, tiers: list[sa.ColumnElement[bool]],
                  where: list[sa.ColumnElement[bool]], want: int) -> list[Any]:
    """PostgreSQL: the first ``want`` keys asked tier by tier, each in the newest-first order in parts by
    issued date (newest ~1 %, the rest): a tier with many matches is sorted within the first part only."""
    c = documents.c
    order = (c.issued_date.desc().nulls_last(), c.doc_id)
    cuts = _date_cuts(conn, query)
    parts = [c.issued_date >= d for d in cuts[:1]]
    parts += [sa.and_(c.issued_date >= d, c.issued_date < up) for up, d in zip(cuts, cuts[1:], strict=False)]
    parts.append(sa.or_(c.issued_date < cuts[-1], c.issued_date.is_(None)) if cuts else sa.true())

    def run(cond: sa.ColumnElement[bool]) -> Tier:
        return lambda n, part: [r[0] for r in conn.execute(
            sa.select(c.doc_id).where(cond, parts[part], *where).order_by(*order).limit(n))]

    return _collect([run(t) for t in tiers], want, len(parts))


def _pg_window(conn: Connection, q_words: list[str], where: list[sa.ColumnElement[bool]],
               dates: list[sa.ColumnElement[bool]], filtered: bool, want: int) -> list[tuple[Any, int, Any]]:
    """PostgreSQL: the newest ``WINDOW`` matches of the widest tier among the newest ``SPAN`` documents
    (date index order, the words checked on each row; ``filtered``: ``WINDOW_FILTERED`` (at least ``want``)
    among ``SPAN_FILTERED``), with their tiers: (doc_id, tier, issued_date)."""
    c = documents.c
    size = max(pg.WINDOW_FILTERED, want) if filtered else WINDOW
    start = pg.span_start(conn, dates, pg.SPAN_FILTERED if filtered else pg.SPAN)
    span = [c.issued_date >= start] if start else []
    widest = pg.tier_conditions(q_words, sa.and_, indexable=False)[-1]
    order = (c.issued_date.desc().nulls_last(), c.doc_id)
    inner = sa.select(c.doc_id).where(*where, *span, widest).order_by(*order).limit(size).scalar_subquery()
    pg.planner(conn, bitmapscan=False)  # the date index in order, not a GIN bitmap of every match
    rows = conn.execute(_tiered(inner, _rank_tier(q_words))).all()
    pg.planner(conn, bitmapscan=True)
    return [(r.doc_id, r.tier, r.issued_date) for r in _sorted_newest(rows)]


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
