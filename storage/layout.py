"""The object-storage layout, shared by the embedded and the distributed drivers.

```
originals/<sha[:2]>/<sha256>.<ext>        the scanned file, byte for byte
pages/<sha256>/<page:04d>.json            per-page result (PageResult as JSON)
pages/<sha256>/<page:04d>.pdf             per-page searchable PDF (image + text layer)
documents/<doc_id>/document.pdf           the document's searchable PDF
documents/<doc_id>/document.txt           its text (pages separated by form feeds)
documents/<doc_id>/metadata.json          its metadata (contract fields + official names)
dossiers/<code>/manifest.json             the dossier's documents, with sha256 of each object
quarantine/<sha256>/<name>               an input that cannot be processed (empty, not a scan, damaged)
files/<sha256>/file.json                  the file's index record (source, status, pages, documents):
                                          with the objects above, enough for `digitize reindex`
```
"""

from __future__ import annotations

from pathlib import PurePosixPath

EXTENSIONS = {"pdf": "pdf", "tiff": "tif", "jpeg": "jpg", "png": "png"}


def original_key(sha256: str, kind: str) -> str:
    """Where the original bytes of a file are kept."""
    return f"originals/{sha256[:2]}/{sha256}.{EXTENSIONS.get(kind, 'bin')}"


def page_result_key(sha256: str, page: int) -> str:
    """The JSON result of one page."""
    return f"pages/{sha256}/{page:04d}.json"


def page_pdf_key(sha256: str, page: int) -> str:
    """The searchable PDF of one page."""
    return f"pages/{sha256}/{page:04d}.pdf"


def document_key(doc_id: str, name: str) -> str:
    """An object of a document: ``document.pdf``, ``document.txt`` or ``metadata.json``."""
    return f"documents/{doc_id}/{name}"


def dossier_manifest_key(code: str) -> str:
    """The manifest of a dossier."""
    return f"dossiers/{code}/manifest.json"


def file_record_key(sha256: str) -> str:
    """The file's record (its index row, page rows and document ids) kept for ``digitize reindex``."""
    return f"files/{sha256}/file.json"


def page_prefix(sha256: str) -> str:
    """The prefix of a file's per-page intermediates."""
    return f"pages/{sha256}/"


def quarantine_key(sha256: str, source: str) -> str:
    """Where an input that cannot be processed is kept, under its own file name."""
    return f"quarantine/{sha256}/{PurePosixPath(source).name}"
