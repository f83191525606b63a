"""The office's account of its digitisation over a period: one counting, used by the CLI and the API.

A file counts in the period in which it was received (its first record in the index, Vietnam time);
its pages and the documents made from it count with it. Per group (``by``):

- ``files``: files received (with ``by`` a document field: the files that gave the group a document;
  a file without documents — failed, or blank — goes to the group ``-``);
- ``pages``: pages received (with a document grouping: the pages of the group's documents; a file
  without documents counts all its pages under ``-``);
- ``documents``: result documents made; ``linked``: with a dossier code; ``needs_review``: still
  waiting for a clerk; ``reviewed``: reviewed by a clerk at least once (the history's ``review``
  entries), and ``reviewers``: who, how many; ``signed``: with the agency's signed electronic copy;
  ``published``: sent to the portal and accepted;
- ``failed``: files that could not be processed; ``rescans``: pages flagged for a new scan (a scan
  quality issue, or the page failed) that are still in the index as flagged.

``batch`` is the first folder of the file's path as given to ``digitize run`` (``-`` for a file given
alone); ``clerk`` is who last reviewed the document (``-``: nobody yet). The total row counts each file
once: group rows may add up to more than the total when one file gave documents to several groups.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from digitize.errors import DigitizeError
from storage.index import Index
from storage.report_rows import period_rows

VIETNAM = dt.timezone(dt.timedelta(hours=7))
GROUPINGS = ("issuer", "type", "dossier", "batch", "clerk")
COUNTS = ("files", "pages", "documents", "linked", "needs_review", "reviewed", "signed", "published", "failed",
          "rescans")
NONE = "-"


class ReportError(DigitizeError):
    """A period or grouping that cannot be read."""

    exit_code = 2
    http_status = 400
    reason = "bad_report_request"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in Vietnam time; ``None`` ends are open."""

    start: dt.date | None
    end: dt.date | None  # exclusive
    label: str

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The period's ends (midnight, Vietnam time) as aware UTC datetimes."""
        def at(d: dt.date | None) -> dt.datetime | None:
            # in UTC, as the index stores times: SQLite keeps the wall-clock time of what it was given
            return None if d is None else dt.datetime.combine(d, dt.time(), VIETNAM).astimezone(dt.UTC)
        return at(self.start), at(self.end)


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(period: str | None = None, start: str | None = None, end: str | None = None) -> Period:
    """``2026-Q3``, ``2026-07`` or ``2026``; or ``start``/``end`` dates (ISO, both included); or everything."""
    if period and (start or end):
        raise ReportError("give either a period or --from/--to, not both")
    if period:
        p = period.strip().upper()
        if m := _QUARTER.match(p):
            y, q = int(m.group(1)), int(m.group(2))
            return Period(dt.date(y, 3 * q - 2, 1), dt.date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1), p)
        if m := _MONTH.match(p):
            y, mo = int(m.group(1)), int(m.group(2))
            if not 1 <= mo <= 12:
                raise ReportError(f"no month {mo} in {period!r}")
            return Period(dt.date(y, mo, 1), dt.date(y + (mo == 12), 1 if mo == 12 else mo + 1, 1), p)
        if m := _YEAR.match(p):
            return Period(dt.date(int(p), 1, 1), dt.date(int(p) + 1, 1, 1), p)
        raise ReportError(f"cannot read the period {period!r}: write 2026-Q3, 2026-07 or 2026")
    try:
        first = dt.date.fromisoformat(start) if start else None
        last = dt.date.fromisoformat(end) if end else None
    except ValueError as e:
        raise ReportError(f"cannot read the date: {e} (write YYYY-MM-DD)") from None
    if first and last and last < first:
        raise ReportError(f"--to {end} is before --from {start}")
    label = f"{first or '…'} – {last or '…'}" if first or last else "all"
    return Period(first, last + dt.timedelta(days=1) if last else None, label)


@dataclass
class Row:
    """The counts of one group."""

    key: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    reviewers: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the key, every count, and the reviewers as ``{name: documents}``."""
        return {"key": self.key, **self.counts, "reviewers": dict(sorted(self.reviewers.items()))}


@dataclass
class Report:
    """The rows (sorted by key) and the total of a period, grouped ``by``."""

    period: Period
    by: str | None
    rows: list[Row]
    total: Row

    def as_dict(self) -> dict[str, Any]:
        """The report as the API gives it."""
        start, end = self.period.start, self.period.end
        return {"period": {"label": self.period.label, "from": start.isoformat() if start else None,
                           "to": (end - dt.timedelta(days=1)).isoformat() if end else None},
                "by": self.by, "columns": list(COUNTS), "rows": [r.as_dict() for r in self.rows],
                "total": self.total.as_dict()}


def _batch(source: str) -> str:
    return source.split("/", 1)[0] if "/" in source else NONE


def build(index: Index, period: Period, by: str | None = None) -> Report:
    """Count everything of ``period`` in the index, per group ``by`` (None: the total only)."""
    if by is not None and by not in GROUPINGS:
        raise ReportError(f"cannot group by {by!r}: use one of {', '.join(GROUPINGS)}")
    start, end = period.bounds()
    rows = period_rows(index, start, end)
    file_rows, docs, reviews, signed, published = rows.files, rows.documents, rows.reviews, rows.signed, rows.published
    page_rows = rows.pages
    last_reviewer: dict[str, str] = {}
    for r in reviews:  # in order: the last one wins
        last_reviewer[r.doc_id] = r.who
    source_of = {f.sha256: f.source for f in file_rows}

    def key_of(d: Any) -> str:
        value = {"issuer": d.issuer, "type": d.doc_type, "dossier": d.dossier_id,
                 "batch": _batch(source_of[d.sha256]), "clerk": last_reviewer.get(d.doc_id)}[by or "issuer"]
        return value or NONE

    groups: dict[str, Row] = {}
    total = Row("total")

    def row(key: str) -> Row:
        return groups.setdefault(key, Row(key))

    docs_of: dict[str, list[Any]] = defaultdict(list)
    page_group: dict[tuple[str, int], str] = {}
    for d in docs:
        docs_of[d.sha256].append(d)
        k = key_of(d)
        doc_pages = json.loads(d.pages)
        for p in doc_pages:
            page_group[(d.sha256, p)] = k
        for t in [total] + ([row(k)] if by else []):
            c = t.counts
            c["documents"] += 1
            c["linked"] += d.dossier_id is not None
            c["needs_review"] += bool(d.needs_review)
            c["signed"] += d.doc_id in signed
            c["published"] += d.doc_id in published
            if d.doc_id in last_reviewer:
                c["reviewed"] += 1
        if by and by != "batch":
            row(k).counts["pages"] += len(doc_pages)
    _count_reviewers(reviews, total, groups, key_of, {d.doc_id: d for d in docs}, by)
    for f in file_rows:
        total.counts["files"] += 1
        total.counts["pages"] += f.page_count
        total.counts["failed"] += f.status == "failed"
        if not by:
            continue
        if by == "batch":  # a batch's pages are its files' pages
            keys = {_batch(f.source)}
            row(_batch(f.source)).counts["pages"] += f.page_count
        else:
            keys = {key_of(d) for d in docs_of.get(f.sha256, [])} or {NONE}
            if not docs_of.get(f.sha256):
                row(NONE).counts["pages"] += f.page_count
        for k in keys:
            row(k).counts["files"] += 1
            row(k).counts["failed"] += f.status == "failed"
    for p in page_rows:
        if p.status != "failed" and json.loads(p.issues or "[]") == []:
            continue
        total.counts["rescans"] += 1
        if by:
            row(_batch(source_of[p.sha256]) if by == "batch" else page_group.get((p.sha256, p.page), NONE)
                ).counts["rescans"] += 1
    return Report(period, by, [groups[k] for k in sorted(groups, key=lambda s: (s == NONE, s.casefold()))], total)


def _count_reviewers(reviews: list[Any], total: Row, groups: dict[str, Row], key_of: Any, docs: dict[str, Any],
                     by: str | None) -> None:
    """Each reviewer once per document they reviewed (several reviews of one document by one clerk: once)."""
    seen: set[tuple[str, str]] = set()
    for r in reviews:
        if (r.doc_id, r.who) in seen or r.doc_id not in docs:
            continue
        seen.add((r.doc_id, r.who))
        total.reviewers[r.who] += 1
        if by:
            groups[key_of(docs[r.doc_id])].reviewers[r.who] += 1
