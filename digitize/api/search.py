"""Document search for the API: the index's full-text search (storage/search.py, SQLite FTS5 or
PostgreSQL tsvector), diacritics optional, exact spellings ranked first."""

from __future__ import annotations

from storage.index import Index
from storage.search import MAX_TOKENS, TOTAL_CAP, SearchQuery, SearchResult

__all__ = ["MAX_TOKENS", "TOTAL_CAP", "SearchQuery", "SearchResult", "search"]


def search(index: Index, query: SearchQuery) -> SearchResult:
    """The total (counted up to ``TOTAL_CAP``; ``total_is_exact`` false beyond) and one page of documents
    (``items``, :class:`digitize.models.Document`), best first."""
    return index.search(query)
