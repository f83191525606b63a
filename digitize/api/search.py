"""Document search for the API: the index's full-text search (storage/search.py, SQLite FTS5 or
PostgreSQL tsvector), diacritics optional, exact spellings ranked first."""

from __future__ import annotations

from digitize.models import Document
from storage.index import Index
from storage.search import MAX_TOKENS, SearchQuery

__all__ = ["MAX_TOKENS", "SearchQuery", "search"]


def search(index: Index, query: SearchQuery) -> tuple[int, list[Document]]:
    """(total matches, one page of documents, best first)."""
    return index.search(query)
