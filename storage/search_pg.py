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
    "doc_id", "issued_date", "kind", "needs_review", "doc_type_folded", "issuer_tsv", "folded_tsv")))
PROBE_ROWS = 20_000  # the newest matches are first looked for by row checks among this many candidate rows
BUDGET = 60_000  # and further among this many more when the density seen promises the cap within them
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
                   *, narrow: bool = False) -> list[tuple[Any, Any]] | None:
    """The newest ``cap + 1`` matches of the widest tier, newest first, as (doc_id, issued_date), found
    in ``search_rows`` (storage/search_sql.py) by walking the date order of the rows ``filters`` allow
    (cheap columns) and checking the issuer phrase and the folded words on each: first among the newest
    ``PROBE_ROWS`` of those rows, then, if the density seen there promises the rest within ``BUDGET``
    rows, further (also when ``narrow``: the filters leave one type's rows, so the walk may well end
    before the budget, with every match seen, which a GIN count of common words would take longer to tell).
    Fewer than ``cap + 1`` is every match; None: the matches are too sparse for the walk (the caller asks
    the GIN indexes)."""
    match = [ts("folded_tsv", "plainto_tsquery", " ".join(fold(w) for w in q_words), indexable=False)]
    if issuer is not None:
        match.insert(0, ts("issuer_tsv", "phraseto_tsquery", issuer, indexable=False))
    found, last = _walk(conn, filters, sa.and_(*match), PROBE_ROWS, cap + 1)
    if len(found) > cap or last is None:
        return found[:cap + 1]
    if not narrow and (cap + 1 - len(found)) * PROBE_ROWS > BUDGET * len(found):
        return None
    more, last = _walk(conn, [*filters, _after_row(*last)], sa.and_(*match), BUDGET, cap + 1 - len(found))
    return None if last is not None and len(found) + len(more) <= cap else (found + more)[:cap + 1]


def _walk(conn: Connection, filters: list[Cond], match: Cond, rows: int, n: int
          ) -> tuple[list[tuple[Any, Any]], tuple[Any, Any] | None]:
    """Up to ``n`` rows of ``search_rows`` that ``filters`` and ``match`` allow, newest first, among the
    first ``rows`` that ``filters`` allow (date order); and the ``rows``-th of those (doc_id, date) when
    the walk reached it without ``n`` matches (None: it ended before, every match was seen)."""
    r = search_rows.c
    order = (r.issued_date.desc().nulls_last(), r.doc_id)
    rn = sa.func.row_number().over(order_by=order).label("rn")
    inner = (sa.select(r.doc_id, r.issued_date, r.issuer_tsv, r.folded_tsv, rn).where(*filters)
             .order_by(*order).limit(rows).subquery())
    # no ORDER BY outside: the subquery's date order streams through the filter, and a sort would read
    # every row of the walk; rows are put in order here (rn)
    query = (sa.select(inner.c.doc_id, inner.c.issued_date, inner.c.rn, match.label("m"))
             .where(sa.or_(match, inner.c.rn == rows)).limit(n + 1))
    planner(conn, seqscan=False, bitmapscan=False)  # the date index in order, stopping early
    got = sorted(conn.execute(query).all(), key=lambda row: row.rn)
    planner(conn, seqscan=True, bitmapscan=True)
    found = [(row.doc_id, row.issued_date) for row in got if row.m][:n]
    end = next(((row.doc_id, row.issued_date) for row in got if row.rn == rows), None)
    return found, None if len(found) >= n else end


def _after_row(doc_id: Any, date: Any) -> Cond:
    """``search_rows`` rows after (date, doc_id) in the newest-first order (see ``after``)."""
    r = search_rows.c
    if date is None:
        return sa.and_(r.issued_date.is_(None), r.doc_id > doc_id)
    return sa.or_(r.issued_date < date, sa.and_(r.issued_date == date, r.doc_id > doc_id), r.issued_date.is_(None))
