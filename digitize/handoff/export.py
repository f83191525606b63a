"""Contract 2: one JSON object per result document (``digitize export --jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from digitize.models import METADATA_FIELDS, Document


def export_record(doc: Document) -> dict[str, Any]:
    """The contract-2 record of a document, with a few extra keys (id, reasons, confidences)."""
    values = doc.metadata.values()
    return {
        "source": doc.source,
        "pages": list(doc.pages),
        "dossier_id": doc.dossier_id,
        "metadata": {k: values[k] for k in METADATA_FIELDS} | {"signer_position": values["signer_position"]},
        "text": doc.text,
        "needs_review": doc.needs_review,
        "review_reasons": list(doc.reasons),
        "doc_id": doc.doc_id,
        "kind": doc.kind,
        "dossier_source": doc.dossier_source,
        "contains_personal_id": doc.metadata.contains_personal_id,
        "confidence": {k: round(getattr(doc.metadata, k).confidence, 3) for k in METADATA_FIELDS},
        "pdf_sha256": doc.pdf_sha256,
    }


def write_jsonl(docs: Iterable[Document], out: TextIO) -> int:
    """Write one line per document; return how many were written."""
    n = 0
    for doc in docs:
        out.write(json.dumps(export_record(doc), ensure_ascii=False) + "\n")
        n += 1
    return n
