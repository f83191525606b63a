"""PostgreSQL's side of the search (storage/search.py): the tiers as tsvector conditions, and the reads.

Common words make GIN costly: a word in most documents has a posting list of most rows, and a GIN
bitmap scan decodes every list it is given (six such words: ~60-95 ms at 1,000,000 documents) before
the first row is returned, once per query. The planner, multiplying the words' frequencies as if they
were independent, also expects a handful of rows where there are tens of thousands, and sorts them all.
So the window (the newest matches of the widest tier, ranked in SQL) is read in issued-date order from
the date index among the newest ``SPAN`` documents, every word checked on the row (the planner is kept
off the GIN bitmap for that query), stopping when it has ``WINDOW`` matches, as search engines stop
early on an index sorted by date; its tiers are computed on those rows only. The total (matches counted
up to the cap, in no order) is one GIN scan; what the window leaves open (better tiers' older members,
or a match set too sparse for the span) is asked with the indexable conditions.

Checking the words on a row costs ~10 us (the tsvectors are TOASTed: each check reads and decompresses
them), so the date-order walk pays only while matches are dense; counting through the rarest word's
GIN scan with the other words checked on the rows was measured slower than the full GIN scan.
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
PROBE_ROWS = 20_000  # the newest matches are first looked for among this many candidates (index entries)
BUDGET = 200_000  # and further among this many more when the density seen promises the cap within them
OLDER_PROBE = 1024  # better tiers' matches older than the window asked at once, ranked when fewer
RANK_ALL = 2000  # with a type filter, a complete set of up to this many matches is ranked whole
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


def tier_conditions(q_words: list[str], both: Callable[[Any, Any], Any], *, indexable: bool = True) -> list[Cond]:
    """The seven tiers (storage/search.py) as conditions on the tsvector columns."""
    exact, folded = " ".join(q_words), " ".join(fold(w) for w in q_words)
    all_e = ts("search_exact_tsv", "plainto_tsquery", exact, indexable=indexable)
    any_e = ts("search_exact_tsv", "to_tsquery", " | ".join(lexeme(w) for w in q_words), indexable=indexable)
    all_f = ts("search_folded_tsv", "plainto_tsquery", folded, indexable=indexable)
    if len(q_words) == 1:
        phrase_e, phrase_f = all_e, all_f
    else:
        phrase_e = ts("search_pairs_tsv", "plainto_tsquery", " ".join(pairs(q_words, PAIR_EXACT)),
                      indexable=indexable)
        phrase_f = ts("search_pairs_tsv", "plainto_tsquery", " ".join(pairs(folded.split(" "), PAIR_FOLDED)),
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


def newest_matches(conn: Connection, q_words: list[str], filters: list[Cond], issuer: str | None, cap: int,
                   *, narrow: bool = False) -> tuple[list[tuple[Any, Any]], bool] | None:
    """The newest matches of the widest tier, newest first, as (doc_id, issued_date), and whether they are
    all of them; found in ``search_rows`` (storage/search_sql.py) by walking the date order of the rows
    ``filters`` allow (cheap columns, on the index): first among the newest ``PROBE_ROWS`` of those
    candidates, then, if the density seen there promises the rest within ``BUDGET`` candidates, further.
    ``cap + 1`` matches are looked for (fewer: all of them); when ``narrow`` (the filters leave one type's
    rows), up to ``RANK_ALL + 1`` among all ``PROBE_ROWS + BUDGET`` candidates at once (the walk may well
    end before, with every match seen, ranked at once, which GIN queries of common words take longer to
    tell).
    None: the matches are too sparse for the walk (the caller asks the GIN indexes)."""
    folded = " ".join(fold(w) for w in q_words)
    sigs = [(search_rows.c.words_sig, folded)] + ([(search_rows.c.issuer_sig, issuer)] if issuer else [])
    match = [ts("folded_tsv", "plainto_tsquery", folded, indexable=False)]
    if issuer is not None:
        match.insert(0, ts("issuer_tsv", "phraseto_tsquery", issuer, indexable=False))
    n = max(cap, RANK_ALL) + 1 if narrow else cap + 1
    found, last = _walk(conn, filters, sigs, sa.and_(*match), PROBE_ROWS + BUDGET * narrow, n)
    if last is not None:  # the probe's candidates are read, fewer than n matches in them
        if narrow or (n - len(found)) * PROBE_ROWS > BUDGET * len(found):
            return None
        more, last = _walk(conn, [*filters, _after_row(*last)], sigs, sa.and_(*match), BUDGET, n - len(found))
        found += more
        if last is not None:
            return None
    if len(found) < n:
        return found, True
    return found[:cap + 1], False


def _walk(conn: Connection, filters: list[Cond], sigs: list[tuple[Any, str]], match: Cond, rows: int, n: int
          ) -> tuple[list[tuple[Any, Any]], tuple[Any, Any] | None]:
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
    return found, None if len(found) >= n else end


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
