"""The review queue: result documents that need a clerk, filtered and ordered, with counts."""

from __future__ import annotations

import urllib.parse
from collections import Counter
from dataclasses import dataclass

from digitize.api.review.texts import group_of
from digitize.models import Document
from digitize.text.vntext import fold
from storage.index import Index

ORDERS = {"oldest": "Cũ nhất trước", "dossier": "Theo hồ sơ", "batch": "Theo lô quét (tệp, trang)"}


@dataclass(frozen=True)
class Filters:
    """What the clerk asked the queue for (all optional)."""

    reason: str = ""
    issuer: str = ""
    doc_type: str = ""
    dossier: str = ""
    order: str = "oldest"

    @classmethod
    def parse(cls, params: dict[str, str]) -> Filters:
        """From query parameters (unknown orders fall back to the oldest first)."""
        order = params.get("order", "oldest")
        return cls(reason=params.get("reason", "")[:40], issuer=params.get("issuer", "")[:200],
                   doc_type=params.get("type", "")[:200], dossier=params.get("dossier", "")[:64],
                   order=order if order in ORDERS else "oldest")

    def query(self, **change: str) -> str:
        """The filters as a query string (``change`` overrides some)."""
        values = {"reason": self.reason, "issuer": self.issuer, "type": self.doc_type, "dossier": self.dossier,
                  "order": self.order} | change
        return urllib.parse.urlencode({k: v for k, v in values.items() if v and not (k == "order" and v == "oldest")})

    def keeps(self, doc: Document) -> bool:
        """True when ``doc`` passes every filter."""
        if self.reason and self.reason not in {group_of(r) for r in doc.reasons}:
            return False
        if self.issuer and fold(self.issuer) not in fold(doc.metadata.issuer.value or ""):
            return False
        if self.doc_type and (doc.metadata.doc_type.value or "") != self.doc_type:
            return False
        if self.dossier == "-":
            return not doc.dossier_id
        return not self.dossier or doc.dossier_id == self.dossier


def pending(index: Index, order: str = "oldest") -> list[Document]:
    """Every result document that needs review (text left out), in the queue's order."""
    return index.pending_review(order)


def counts(docs: list[Document]) -> dict[str, Counter[str]]:
    """How many pending documents per reason group, type and dossier."""
    out: dict[str, Counter[str]] = {"reason": Counter(), "type": Counter(), "dossier": Counter()}
    for d in docs:
        out["reason"].update({group_of(r) for r in d.reasons})
        out["type"][d.metadata.doc_type.value or ""] += 1
        out["dossier"][d.dossier_id or "-"] += 1
    return out


def next_after(index: Index, filters: Filters, doc_id: str) -> str | None:
    """The document after ``doc_id`` in the filtered queue (wrapping round), never ``doc_id`` itself."""
    docs = [d for d in pending(index, filters.order) if filters.keeps(d) or d.doc_id == doc_id]
    ids = [d.doc_id for d in docs]
    if doc_id in ids:
        at = ids.index(doc_id)
        ids = ids[at + 1:] + ids[:at]
    return next((i for i in ids if i != doc_id), None)
