"""Document search over the index's folded text columns (portable SQL: SQLite and PostgreSQL).

Every query word must occur in the diacritic-folded text, so "quyet dinh cap phep" finds
"Quyết định cấp phép". Results are ranked by how exactly they match: the whole query with its
diacritics first, then the whole query folded, then the number of words matched with diacritics;
ties go to the newest issued date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from digitize.models import Document
from storage.folding import fold, lower, tokens
from storage.index import Index, documents, row_to_document

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


def _conditions(query: SearchQuery) -> list[sa.ColumnElement[bool]]:
    c = documents.c
    where: list[sa.ColumnElement[bool]] = [c.kind == "result"]
    if query.cleared_only:
        where.append(c.needs_review.is_(False))
    for tok in tokens(query.q or "")[:MAX_TOKENS]:
        where.append(c.search_folded.contains(fold(tok), autoescape=True))
    if query.doc_type:
        where.append(c.doc_type_folded == fold(query.doc_type))
    if query.issuer:
        where.append(c.issuer_folded.contains(fold(query.issuer), autoescape=True))
    if query.date_from:
        where.append(c.issued_date >= query.date_from.isoformat())
    if query.date_to:
        where.append(c.issued_date <= query.date_to.isoformat())
    return where


def _score(query: SearchQuery) -> sa.ColumnElement[int]:
    c = documents.c
    words = tokens(query.q or "")[:MAX_TOKENS]
    if not words:
        return sa.literal(0)
    phrase = " ".join(words)
    score: sa.ColumnElement[int] = sa.case((c.search_lower.contains(lower(phrase), autoescape=True), 100), else_=0)
    score = score + sa.case((c.search_folded.contains(fold(phrase), autoescape=True), 50), else_=0)
    for w in words:
        score = score + sa.case((c.search_lower.contains(w, autoescape=True), 1), else_=0)
    return score


def search(index: Index, query: SearchQuery) -> tuple[int, list[Document]]:
    """(total matches, one page of documents, best first) — one scan: the total rides on each row."""
    where = _conditions(query)
    score = _score(query).label("score")
    total = sa.func.count().over().label("total")
    c = documents.c
    page = (sa.select(documents, score, total).where(*where)
            .order_by(score.desc(), c.issued_date.desc().nulls_last(), c.doc_id)
            .limit(query.limit).offset(query.offset))
    with index.engine.connect() as conn:
        rows = conn.execute(page).fetchall()
        if rows:
            count = int(rows[0].total)
        else:  # past the last page (or nothing matched): count on its own
            count = int(conn.execute(sa.select(sa.func.count()).select_from(documents).where(*where)).scalar() or 0)
    return count, [row_to_document(r) for r in rows]
