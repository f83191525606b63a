"""Saving and loading per-page results in object storage (shared by both drivers).

A page counts as done when both its JSON result and its PDF page are stored; failed pages are
only recorded in the index, so the next run (or a retried job) processes them again.
"""

from __future__ import annotations

import json

from digitize.errors import NotFoundError
from digitize.models import PageResult, from_dict, to_dict
from digitize.pipeline.page import PageOutcome
from storage import layout
from storage.index import Index
from storage.objects import ObjectStore


def save_page(store: ObjectStore, index: Index, sha256: str, outcome: PageOutcome) -> None:
    """Store a page's PDF and result (when it succeeded) and record the page in the index."""
    r = outcome.result
    rkey = None
    if outcome.pdf is not None and not r.failed:
        store.put_bytes(layout.page_pdf_key(sha256, r.page), outcome.pdf, "application/pdf")
        rkey = layout.page_result_key(sha256, r.page)
        store.put_bytes(rkey, json.dumps(to_dict(r), ensure_ascii=False).encode(), "application/json")
    index.record_page(sha256, r, result_key=rkey)


def load_stored_page(store: ObjectStore, sha256: str, page: int) -> PageResult | None:
    """A page's stored result, or None when the page is not done yet."""
    try:
        data = store.get_bytes(layout.page_result_key(sha256, page))
    except NotFoundError:
        return None
    if not store.exists(layout.page_pdf_key(sha256, page)):
        return None
    return from_dict(PageResult, json.loads(data))
