"""The index rows the office report counts (``digitize.handoff.report``): the files received in a
period and, of those files, their result documents, review history, signatures, publications and pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from storage.index import Index
from storage.schema import documents, files, history, pages, publications, signatures


@dataclass(frozen=True)
class PeriodRows:
    """Rows (attribute access) of the files received in a period and what was made of them."""

    files: list[Any]  # sha256, source, page_count, status
    documents: list[Any]  # doc_id, sha256, pages (JSON), dossier_id, doc_type, issuer, needs_review (results)
    reviews: list[Any]  # doc_id, who of every "review" history entry, oldest first
    signed: set[str]  # doc_ids with a signed copy
    published: set[str]  # doc_ids published
    pages: list[Any]  # sha256, page, status, issues (JSON)


def period_rows(index: Index, start: dt.datetime | None, end: dt.datetime | None) -> PeriodRows:
    """The rows of the files first recorded in ``[start, end)`` (either bound open when None)."""
    cond = []
    if start is not None:
        cond.append(files.c.created_at >= start)
    if end is not None:
        cond.append(files.c.created_at < end)
    with index.engine.connect() as conn:
        file_rows = list(conn.execute(sa.select(files.c.sha256, files.c.source, files.c.page_count, files.c.status)
                                      .where(*cond)))
        shas = [f.sha256 for f in file_rows]
        docs = _in_chunks(conn, sa.select(documents.c.doc_id, documents.c.sha256, documents.c.pages,
                                          documents.c.dossier_id, documents.c.doc_type, documents.c.issuer,
                                          documents.c.needs_review).where(documents.c.kind == "result"),
                          documents.c.sha256, shas)
        doc_ids = [d.doc_id for d in docs]
        reviews = _in_chunks(conn, sa.select(history.c.doc_id, history.c.who).where(history.c.action == "review")
                             .order_by(history.c.id), history.c.doc_id, doc_ids)
        signed = {r.doc_id for r in _in_chunks(conn, sa.select(signatures.c.doc_id), signatures.c.doc_id, doc_ids)}
        published = {r.doc_id for r in _in_chunks(conn, sa.select(publications.c.doc_id)
                                                  .where(publications.c.status == "published"),
                                                  publications.c.doc_id, doc_ids)}
        page_rows = _in_chunks(conn, sa.select(pages.c.sha256, pages.c.page, pages.c.status, pages.c.issues),
                               pages.c.sha256, shas)
    return PeriodRows(file_rows, docs, reviews, signed, published, page_rows)


def _in_chunks(conn: sa.Connection, query: sa.Select[Any], column: Any, values: Iterable[str],
               size: int = 900) -> list[Any]:
    values = list(values)
    out: list[Any] = []
    for i in range(0, len(values), size):
        out.extend(conn.execute(query.where(column.in_(values[i:i + size]))))
    return out
