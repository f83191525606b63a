"""A file's pages back from what stays once its page intermediates are dropped.

A finished file keeps its original and each document's PDF, text and metadata; ``pages/<sha>/`` goes
(kept only while a page failed). The review station's structure fixes (split, merge, a page marked
blank or not) need pages again: :class:`PageSource` gives each file page's PDF and result from

1. the page intermediates, while they are kept (a file with a failed page, ``digitize run --keep-pages``);
2. else, for a page's PDF, the document PDF that holds the page (pikepdf takes the page out; the
   document's page list maps file pages to PDF pages);
3. else the page read again from the original by the same page stage (:func:`process_page`, with the
   run's settings), which gives the same result as the first reading: a page no document holds (a
   blank page), or the page results a split part's metadata is extracted from.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from digitize.errors import NotFoundError
from digitize.models import Document, InputKind, PageResult
from digitize.pipeline.file import PagePdfs
from digitize.pipeline.page import PageOutcome, PageTask, process_page
from digitize.pipeline.pagestore import load_stored_page
from storage import layout
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)


def single_page(pdf: bytes, index: int) -> bytes:
    """Page ``index`` (0-based) of a PDF as a one-page PDF."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as src:
        if not 0 <= index < len(src.pages):
            raise NotFoundError(f"the document PDF has {len(src.pages)} pages, not page {index + 1}")
        out = pikepdf.new()
        out.pages.append(src.pages[index])
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()


def stored_pdf_title(pdf: bytes) -> str | None:
    """The title (XMP ``dc:title``) a stored document PDF carries."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        title = doc.open_metadata().get("dc:title")
    return str(title) if title else None


class PageSource(PagePdfs):
    """A file's page PDFs and page results, from the intermediates, the documents' PDFs or the original.

    ``docs``: the documents whose PDFs may give pages, read when the source is made (before a fix
    re-writes them); ``task``: the page stage's settings for a page read again (path, kind and page
    are filled in)."""

    def __init__(self, store: ObjectStore, index: Index, sha256: str, docs: Sequence[Document],
                 task: PageTask) -> None:
        super().__init__(store, sha256)
        self.index, self.task = index, task
        self._held: dict[int, tuple[bytes, int]] = {}
        for doc in docs:
            if doc.sha256 != sha256 or not doc.pdf_key:
                continue
            try:
                data = store.get_bytes(doc.pdf_key)
            except NotFoundError:
                continue
            for i, page in enumerate(doc.pages):
                self._held.setdefault(page, (data, i))
        self._reread: dict[int, PageOutcome] = {}
        self._has_pages: bool | None = None

    def _kept(self) -> bool:
        """Whether the file still has page intermediates (then they are used alone, as when it was made)."""
        if self._has_pages is None:
            self._has_pages = any(True for _ in self.store.list(layout.page_prefix(self.sha256)))
        return self._has_pages

    def find(self, page: int) -> bytes | None:
        """The page's one-page PDF, None when it has none (a page that failed)."""
        if page in self._cache:
            return self._cache[page]
        pdf = super().find(page)
        if pdf is None and page in self._held:
            data, i = self._held[page]
            pdf = self._cache[page] = single_page(data, i)
        if pdf is None and not self._kept():
            outcome = self._read_again(page)
            pdf = self._cache[page] = outcome.pdf if outcome else None
        return pdf

    def result(self, page: int) -> PageResult | None:
        """The page's result: the stored one, else the page read again from the original (None while the
        file keeps its intermediates but not this page, or when the page cannot be read again)."""
        stored = load_stored_page(self.store, self.sha256, page)
        if stored is not None or self._kept():
            return stored
        outcome = self._read_again(page)
        return outcome.result if outcome and not outcome.result.failed else None

    def _read_again(self, page: int) -> PageOutcome | None:
        """The page read again from the original; None when the archive no longer has the original."""
        if page not in self._reread:
            row = self.index.get_file(self.sha256)
            key = row.get("original_key") if row else None
            if not key or not self.store.exists(key):
                log.warning("page %d of file %s: no page objects and no original to read it from",
                            page, self.sha256[:12])
                return None
            with tempfile.TemporaryDirectory(prefix="digitize-page-") as tmp:
                path = Path(tmp) / Path(key).name
                self.store.get_file(key, path)
                task = dataclasses.replace(self.task, path=str(path), kind=InputKind(row["kind"]), page=page)
                log.info("page %d of file %s read again from the original", page, self.sha256[:12])
                self._reread[page] = process_page(task)
        return self._reread[page]
