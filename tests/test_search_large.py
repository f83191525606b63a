"""Search beyond a handful of matches, on both back-ends: the total counted up to a cap (and saying so),
and the ways to rank (a small complete set in one read: tiers in Python for SQLite, in SQL for PostgreSQL;
index queries part by part: SQLite's rowid window, read ascending or walked descending, PostgreSQL's date
parts) giving the same page.

The caps are lowered so that a few dozen documents take the paths a million take.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import storage.search as search_module
import storage.search_pg as search_pg
from storage.index import Index
from storage.search import SearchQuery
from tests.test_search import add, doc, numbers

ISSUERS = ["Ủy ban nhân dân huyện Kiến Xương", "UY BAN NHAN DAN HUYEN KIEN XUONG", "Ủy ban nhân dân huyện Kiến Xướng",
           "Ủy ban nhân dân xã Vũ Tây", "Sở Xây dựng tỉnh Thái Bình"]


def fill(index: Index, n: int = 60) -> None:
    """``n`` documents, each with its own date; issuers and texts vary so that every tier has members."""
    docs = []
    for i in range(n):
        text = "Giấy phép xây dựng cho ông Kiến" if i % 7 == 0 else "kien xuong cap phep xay dung"
        date = f"{2000 + i // 12:04d}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 11 else None
        docs.append(doc(str(i), issuer=ISSUERS[i % len(ISSUERS)], text=text, date=date, needs_review=i % 9 == 0,
                        doc_type="Quyết định" if i % 3 else "Giấy phép xây dựng"))
    add(index, *docs)
    with index.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # PostgreSQL's date parts come from the planner's statistics


QUERIES = [SearchQuery(q="Kiến Xương", limit=100), SearchQuery(q="kien xuong", limit=7, offset=5),
           SearchQuery(q="KIẾN", limit=100), SearchQuery(q="giấy phép xây dựng", limit=100),
           SearchQuery(q="xuong kien", limit=10, offset=30, cleared_only=True),
           SearchQuery(q="cap phep", doc_type="Quyết định", limit=100), SearchQuery(q="kien", issuer="Vũ Tây"),
           SearchQuery(limit=9, offset=40), SearchQuery(q="Kiến Xương", doc_type="Quyết định", limit=10)]


def test_total_is_counted_up_to_the_cap(index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(index)
    exact = index.search(SearchQuery(q="kien"))
    assert exact.total == 60 and exact.total_is_exact
    typed_exact = index.search(SearchQuery(q="kien", doc_type="Quyết định", limit=100))
    monkeypatch.setattr(search_module, "TOTAL_CAP", 25)
    capped = index.search(SearchQuery(q="kien"))
    assert (capped.total, capped.total_is_exact) == (25, False)  # "more than 25"
    assert numbers(capped) == numbers(exact)  # the page is the same
    # with a type filter PostgreSQL ranks a complete set larger than the cap whole: still counted to the cap
    typed = index.search(SearchQuery(q="kien", doc_type="Quyết định", limit=100))
    assert typed_exact.total > 25 and (typed.total, typed.total_is_exact) == (25, False)
    assert numbers(typed) == numbers(typed_exact)
    few = index.search(SearchQuery(q="kien", issuer="Vũ Tây"))  # 12 matches: under the cap, exact
    assert (few.total, few.total_is_exact) == (12, True)
    monkeypatch.setattr(search_module, "TOTAL_CAP", 12)
    assert index.search(SearchQuery(q="kien", issuer="Vũ Tây"))[::2] == (12, True)  # exactly the cap: exact
    assert index.search(SearchQuery(q="ta")) == (0, [], True)


# the module's caps lowered: SMALL (SQLite: a complete set ranked in Python), TOTAL_CAP (the total and the
# SQLite window), PROBE (SQLite: 1 = always the descending walk), WINDOW (0: tier by tier), SPARSE (SQLite:
# 0 = always ranked in Python, 10**6 = never), SPAN, SPAN_FILTERED, WINDOW_FILTERED (PostgreSQL: the window
# among the newest documents), PROBE_ROWS, BUDGET, RANK_ALL (PostgreSQL: the walk of search_rows), OLDER_PROBE,
# RARE (PostgreSQL: the better tiers among the older matches)
PATHS = [{"SMALL": 0, "WINDOW": 0}, {"SMALL": 0, "TOTAL_CAP": 4, "WINDOW": 0},
         {"SMALL": 0, "TOTAL_CAP": 0, "WINDOW": 0}, {"SMALL": 0, "TOTAL_CAP": 4, "PROBE": 1, "WINDOW": 0},
         {"SMALL": 0, "WINDOW": 12, "SPARSE": 0}, {"SMALL": 0, "WINDOW": 12, "SPARSE": 10**6},
         {"SMALL": 0, "TOTAL_CAP": 4, "WINDOW": 12, "SPARSE": 0}, {"SMALL": 0, "TOTAL_CAP": 4, "WINDOW": 12},
         {"SMALL": 0, "TOTAL_CAP": 4, "PROBE": 1, "WINDOW": 12, "SPARSE": 0},
         {"SMALL": 0, "TOTAL_CAP": 0, "WINDOW": 25, "SPARSE": 0}, {"SMALL": 0, "WINDOW": 3, "SPARSE": 0},
         {"TOTAL_CAP": 4, "WINDOW": 12, "SPAN": 20, "SPAN_FILTERED": 20, "WINDOW_FILTERED": 4},
         {"TOTAL_CAP": 0, "PROBE": 1, "WINDOW": 25, "SPAN": 8, "SPAN_FILTERED": 8},
         # PostgreSQL's walk of search_rows: ended within the first rows, continued, or too sparse (GIN)
         {"TOTAL_CAP": 4, "WINDOW": 3, "PROBE_ROWS": 6, "BUDGET": 10**6},
         {"TOTAL_CAP": 4, "WINDOW": 12, "PROBE_ROWS": 5, "BUDGET": 8},
         {"TOTAL_CAP": 4, "WINDOW": 3, "PROBE_ROWS": 1, "BUDGET": 1},
         {"TOTAL_CAP": 4, "WINDOW": 3, "PROBE_ROWS": 2, "RANK_ALL": 5},
         {"TOTAL_CAP": 4, "WINDOW": 3, "PROBE_ROWS": 2, "RANK_ALL": 100},
         # PostgreSQL's older matches: one union query skipped or too many, a rare tier read from GIN or not
         {"TOTAL_CAP": 4, "WINDOW": 3, "OLDER_PROBE": 1, "RARE": 1.0},
         {"TOTAL_CAP": 4, "WINDOW": 12, "OLDER_PROBE": 2, "RARE": 0.0},
         # ... the union asked of GIN for the rare lists only, the folded words and issuer checked on rows
         {"TOTAL_CAP": 30, "WINDOW": 12, "RARE": 1.0, "RANK_ALL": 0}]
PG_CAPS = ("SPAN", "WINDOW_", "PROBE_ROWS", "BUDGET", "RANK_ALL", "OLDER_PROBE", "RARE")


@pytest.mark.parametrize("caps", PATHS)
def test_every_ranking_path_gives_the_same_page(index: Index, monkeypatch: pytest.MonkeyPatch,
                                                caps: dict[str, int]) -> None:
    fill(index)
    in_python = [numbers(index.search(q)) for q in QUERIES]  # 60 matches at most: ranked in Python
    assert in_python[0][:3] == ["50", "45", "40"]  # "Kiến Xương" spelt exactly, newest first
    assert in_python[2][0] == "57"  # the exact word "Kiến" in the text, newest of them, before folded ones
    for name, value in caps.items():
        monkeypatch.setattr(search_pg if name.startswith(PG_CAPS) else search_module, name, value)
    assert [numbers(index.search(q)) for q in QUERIES] == in_python


def test_postgresql_date_parts_come_from_statistics(index: Index) -> None:
    fill(index)
    with index.engine.connect() as conn:
        cuts = search_module._date_cuts(conn, SearchQuery())
        if conn.dialect.name != "postgresql":
            assert cuts == []
            return
        dates = sorted(r[0] for r in conn.execute(sa.select(search_module.documents.c.issued_date)
                                                  .where(search_module.documents.c.issued_date.is_not(None))))
    assert len(cuts) == 1 and dates[-5] <= cuts[0] <= dates[-1]  # ~1 % newest (of 49 dates: the last few)

