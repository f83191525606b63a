"""PostgreSQL's side of the search (storage/search.py): the tiers as tsvector conditions, and the reads.

Common words make GIN costly: a word in most documents has a posting list of most rows, and a GIN
bitmap scan decodes every list it is given (six such words: ~60-95 ms at 1,000,000 documents) before
the first row is returned, once per query. Checking the words on the ``documents`` rows instead costs
~6-10 us a row (their tsvectors are TOASTed out of line: the rows hold the page text). So the newest
matches are found in ``search_rows`` (schema v4, storage/search_sql.py), one narrow row per document
kept in step by a trigger: its date index (and type + date index) carries the filter columns and a
256-bit signature of the folded words and of the issuer's words, so ``newest_matches`` walks the
candidates newest first in an index-only scan (~0.3-0.5 us each), reads only the rows whose signatures
hold every query word to check the words themselves, and stops at ``TOTAL_CAP + 1`` matches: the total
(counted to the cap) and the window in one walk, as search engines stop early on an index sorted by
date. A probe of the newest ``PROBE_ROWS`` candidates tells a match set too sparse for the walk (then
the GIN indexes are asked, cheap for rare words); with a type filter the walk reads up to
``PROBE_ROWS + BUDGET`` candidates and a complete set of up to ``RANK_ALL`` matches is ranked whole.
Better tiers too thin among the newest matches are asked of the GIN indexes among the older ones.

The older read (``span_start``, ``SPAN``...: the window among the newest documents of ``documents``,
the words checked on each row) is what a match set too sparse for the walk still takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs
from storage.schema import documents
from storage.search_rank import build_tiers

search_rows = sa.table("search_rows", *(sa.column(n) for n in (
    "doc_id", "issued_date", "kind", "needs_review", "doc_type_folded", "issuer_tsv", "folded_tsv", "words_sig",
    "issuer_sig")))
search_tiers = sa.table("search_tiers", *(sa.column(n) for n in ("doc_id", "issued_date", "exact_tsv", "pairs_tsv")))
PROBE_ROWS = 20_000  # the newest matches are first looked for among this many candidates (index entries)
BUDGET = 200_000  # and further among this many more when the density seen promises the cap within them
RARE = 0.05  # a tier with a smaller share of the newest matches is read from GIN among the older ones
OLDER_PROBE = 1024  # better tiers' matches older than the window asked at once, ranked when fewer
RANK_ALL = 2000  # with a type filter, up to this many matches older than the newest are ranked at once
SPAN = 4000  # the window is looked for among this many newest documents (by issued date)
# with a type or issuer filter, checked on a row before its words (cheap columns), further, for fewer matches
SPAN_FILTERED, WINDOW_FILTERED = 20000, 40
Cond = sa.ColumnElement[bool]


def ts(column: str, func: str, text: str, *, indexable: bool = True) -> Cond:
    """``column @@ func('simple', text)``; not ``indexable``: the same test as a function call, which the
    planner does not match to the GIN index (it is checked on the rows another index reads)."""
    query = getattr(sa.func, func)(sa.literal_column("'simple'::regconfig"), text)
    if indexable:
        return sa.literal_column(column).op("@@")(query)
    return sa.func.ts_match_vq(sa.literal_column(column), query, type_=sa.Boolean)


def tier_conditions(q_words: list[str], both: Callable[[Any, Any], Any], *, indexable: bool = True,
                    folded_indexable: bool = True, matched: bool = False, exact_col: str = "search_exact_tsv",
                    pairs_col: str = "search_pairs_tsv") -> list[Cond]:
    """The seven tiers (storage/search.py) as conditions on the tsvector columns (named ``exact_col``,
    ``pairs_col`` and ``search_folded_tsv``); ``matched``: for rows known to hold every folded word (the
    widest tier), which is then not tested (no folded column is read); not ``folded_indexable``: the folded
    words are checked on the rows the other conditions' indexes find (a query of several words only)."""
    exact, folded = " ".join(q_words), " ".join(fold(w) for w in q_words)
    all_e = ts(exact_col, "plainto_tsquery", exact, indexable=indexable)
    any_e = ts(exact_col, "to_tsquery", " | ".join(lexeme(w) for w in q_words), indexable=indexable)
    all_f = sa.true() if matched else ts("search_folded_tsv", "plainto_tsquery", folded,
                                         indexable=indexable and (folded_indexable or len(q_words) == 1))
    if len(q_words) == 1:
        phrase_e, phrase_f = all_e, all_f
    else:
        phrase_e = ts(pairs_col, "plainto_tsquery", " ".join(pairs(q_words, PAIR_EXACT)), indexable=indexable)
        phrase_f = ts(pairs_col, "plainto_tsquery", " ".join(pairs(folded.split(" "), PAIR_FOLDED)),
                      indexable=indexable)
    return build_tiers(phrase_e, phrase_f, all_e, any_e, all_f, both)


def lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"


def span_start(conn: Connection, where: list[Cond], span: int) -> str | None:
    """The issued date of the ``span``-th newest document (of those ``where`` allows by date: only date
    conditions matter here), read from the date index; None when there are fewer."""
    c = documents.c
    return conn.execute(sa.select(c.issued_date).where(c.issued_date.is_not(None), *where)
                        .order_by(c.issued_date.desc().nulls_last(), c.doc_id).offset(span).limit(1)).scalar()


def after(date: str | None, doc_id: str) -> Cond:
    """Rows after (date, doc_id) in the newest-first order: issued date descending, no date last, doc_id."""
    c = documents.c
    if date is None:
        return sa.and_(c.issued_date.is_(None), c.doc_id > doc_id)
    return sa.or_(c.issued_date < date, sa.and_(c.issued_date == date, c.doc_id > doc_id), c.issued_date.is_(None))


def planner(conn: Connection, **settings: bool) -> None:
    """Switch planner methods for the rest of the transaction (``SET LOCAL``)."""
    for name, on in settings.items():
        conn.exec_driver_sql(f"SET LOCAL enable_{name} = {'on' if on else 'off'}")


Walked = tuple[list[tuple[Any, Any]], bool, Callable[[], "list[tuple[Any, Any]] | None"] | None, float]


def newest_matches(conn: Connection, q_words: list[str], filters: list[Cond], issuer: str | None, cap: int,
                   *, narrow: bool = False) -> Walked | None:
    """The newest ``cap + 1`` matches of the widest tier (fewer: all of them, then true), newest first, as
    (doc_id, issued_date), found in ``search_rows`` (storage/search_sql.py) by walking the date order of
    the rows ``filters`` allow (cheap columns, on the index): first among the newest ``PROBE_ROWS`` of
    those candidates, then, if the density seen there promises the rest within ``BUDGET`` candidates,
    further; when ``narrow`` (the filters leave one type's rows) among all ``PROBE_ROWS + BUDGET`` at
    once. Third, when ``narrow``: a function giving every match older than those (the walk goes on), or
    None when the candidates do not end within ``BUDGET`` more or hold more than ``RANK_ALL`` matches.
    Fourth: the share of the candidates read that matched. None: the matches are too sparse for the walk
    (the caller asks the GIN indexes)."""
    folded = " ".join(fold(w) for w in q_words)
    sigs = [(search_rows.c.words_sig, folded)] + ([(search_rows.c.issuer_sig, issuer)] if issuer else [])
    match = [ts("folded_tsv", "plainto_tsquery", folded, indexable=False)]
    if issuer is not None:
        match.insert(0, ts("issuer_tsv", "phraseto_tsquery", issuer, indexable=False))
    n = cap + 1
    found, last, read = _walk(conn, filters, sigs, sa.and_(*match), PROBE_ROWS + BUDGET * narrow, n)
    if last is not None:  # the probe's candidates are read, fewer than n matches in them
        if narrow or (n - len(found)) * PROBE_ROWS > BUDGET * len(found):
            return None
        more, last, more_read = _walk(conn, [*filters, _after_row(*last)], sigs, sa.and_(*match), BUDGET,
                                      n - len(found))
        found, read = found + more, read + more_read
        if last is not None:
            return None
    if len(found) < n:
        return found, True, None, 1.0

    def older() -> list[tuple[Any, Any]] | None:
        got, end, _ = _walk(conn, [*filters, _after_row(*found[-1])], sigs, sa.and_(*match), BUDGET, RANK_ALL + 1)
        return got if end is None and len(got) <= RANK_ALL else None

    return found, False, older if narrow else None, len(found) / max(read, 1)


def _walk(conn: Connection, filters: list[Cond], sigs: list[tuple[Any, str]], match: Cond, rows: int, n: int
          ) -> tuple[list[tuple[Any, Any]], tuple[Any, Any] | None, int]:
    """Up to ``n`` rows of ``search_rows`` that ``filters`` and ``match`` allow, newest first, among the
    first ``rows`` candidates that ``filters`` allow (date order); and the ``rows``-th candidate (doc_id,
    date) when the walk reached it without ``n`` matches (None: it ended before, every match was seen).
    The candidates come from an index-only scan, tested on their signatures (``sigs``: column, the words
    it must hold); only those that pass are read, to test ``match``."""
    r = search_rows.c
    order = (r.issued_date.desc().nulls_last(), r.doc_id)
    rn = sa.func.row_number().over(order_by=order).label("rn")
    cand = (sa.select(r.doc_id, r.issued_date, r.words_sig, r.issuer_sig, rn).where(*filters)
            .order_by(*order).limit(rows).subquery())
    holds = [cand.c[col.name].op("&")(mask) == mask for col, text in sigs for mask in [_sig(text)]]
    passing = (sa.select(cand.c.doc_id, cand.c.issued_date, cand.c.rn)
               .where(sa.or_(sa.and_(*holds), cand.c.rn == rows)).subquery())
    # no ORDER BY outside: the candidates' date order streams through the join (nested loop on the key)
    # and the filter, and a sort would read every candidate of the walk; rows are put in order here (rn)
    query = (sa.select(passing.c.doc_id, passing.c.issued_date, passing.c.rn, match.label("m"))
             .join_from(passing, search_rows, r.doc_id == passing.c.doc_id)
             .where(sa.or_(match, passing.c.rn == rows)).limit(n + 1))
    walk = {"seqscan": False, "bitmapscan": False, "hashjoin": False, "mergejoin": False}
    planner(conn, **walk)  # the date index in order, stopping early
    got = sorted(conn.execute(query).all(), key=lambda row: row.rn)
    planner(conn, **dict.fromkeys(walk, True))
    found = [(row.doc_id, row.issued_date) for row in got if row.m][:n]
    end = next(((row.doc_id, row.issued_date) for row in got if row.rn == rows), None)
    return found, None if len(found) >= n else end, max((row.rn for row in got), default=0)


def documents_estimate(conn: Connection) -> float:
    """How many rows ``search_rows`` holds, as the planner's statistics say (0 when never analysed)."""
    return max(0.0, conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'search_rows'::regclass")
               .scalar() or 0.0)


def _sig(text: str) -> Any:
    """The signature of the words of ``text`` as the ``simple`` parser cuts them (as in the tsvectors), a
    subquery run once per query."""
    config = sa.literal_column("'simple'::regconfig")
    return sa.select(sa.func.search_sig(sa.func.tsvector_to_array(sa.func.to_tsvector(config, text)))
                     ).scalar_subquery()


def _after_row(doc_id: Any, date: Any) -> Cond:
    """``search_rows`` rows after (date, doc_id) in the newest-first order (see ``after``)."""
    r = search_rows.c
    if date is None:
        return sa.and_(r.issued_date.is_(None), r.doc_id > doc_id)
    return sa.or_(r.issued_date < date, sa.and_(r.issued_date == date, r.doc_id > doc_id), r.issued_date.is_(None))
