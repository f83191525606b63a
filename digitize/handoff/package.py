"""A dossier's hand-off package, built as a zip while it is sent (never whole in memory or on disk).

Contents: each document's PDF (its signed copy when it has one), ``metadata.json`` (official metadata
names, the dossier code, review and signature state and the sha256 of every PDF) and ``SHA256SUMS``
(``sha256sum -c`` format) over the PDFs and metadata.json. A PDF whose bytes do not match the sha256
in the index aborts the stream, so a corrupted copy never arrives looking complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from digitize.errors import IntegrityError
from digitize.handoff.sign import VIETNAM
from digitize.models import Document
from storage.access import Signature
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

CHUNK = 256 * 1024


class _Sink:
    """A write-only, non-seekable file: zipfile then writes data descriptors and we drain the bytes."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


def pdf_name(position: int, doc: Document) -> str:
    """The name of a document's PDF inside the package."""
    return f"{position:02d}-{doc.doc_id}.pdf"


def _info(name: str, when: dt.datetime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def package_metadata(code: str, docs: Sequence[Document], official: Callable[..., dict[str, Any]],
                     names: dict[str, str | None], sums: dict[str, str], when: dt.datetime,
                     signatures: Mapping[str, Signature] | None = None) -> dict[str, Any]:
    """metadata.json: the dossier code and each document under the official names, with whether its copy
    carries the agency's signature (``Signed``; unsigned when no certificate is configured)."""
    signatures = signatures or {}
    out = []
    for doc in docs:
        rec = dict(official(doc.metadata, page_amount=len(doc.pages), dossier_id=doc.dossier_id))
        rec.setdefault("DossierCode", doc.dossier_id)
        name = names[doc.doc_id]
        rec.update({"FileName": name, "Sha256": sums.get(name) if name else None, "DocId": doc.doc_id,
                    "NeedsReview": doc.needs_review, "ReviewReasons": list(doc.reasons)})
        sig = signatures.get(doc.doc_id)
        rec.update({"Signed": sig is not None,
                    "SignedAt": sig.signed_at.astimezone(VIETNAM).isoformat() if sig else None,
                    "Signer": sig.signer if sig else None})
        out.append(rec)
    return {"DossierCode": code, "GeneratedAt": when.isoformat(timespec="seconds"), "DocumentCount": len(out),
            "Documents": out}


def stream_package(code: str, docs: Sequence[Document], store: ObjectStore, official: Callable[..., dict[str, Any]],
                   signatures: Mapping[str, Signature] | None = None) -> Iterator[bytes]:
    """Yield the zip of a dossier, chunk by chunk. ``docs`` are as handed out (signed copies in place of
    the PDFs that have one); ``signatures`` says which, for metadata.json."""
    when = dt.datetime.now(dt.UTC)
    sink = _Sink()
    sums: dict[str, str] = {}
    names: dict[str, str | None] = {}
    with zipfile.ZipFile(sink, "w") as zf:
        for position, doc in enumerate(docs, start=1):
            if not doc.pdf_key:
                names[doc.doc_id] = None
                continue
            name = pdf_name(position, doc)
            names[doc.doc_id] = name
            h = hashlib.sha256()
            with store.open(doc.pdf_key) as src, zf.open(_info(name, when, zipfile.ZIP_STORED), "w") as dst:
                for chunk in iter(lambda: src.read(CHUNK), b""):  # noqa: B023 - src is bound per iteration
                    h.update(chunk)
                    dst.write(chunk)
                    if len(sink.buffer) >= CHUNK:
                        yield sink.drain()
            digest = h.hexdigest()
            if doc.pdf_sha256 and digest != doc.pdf_sha256:
                log.error("package %s: %s does not match its recorded sha256; aborting", code, doc.pdf_key)
                raise IntegrityError(f"{doc.pdf_key}: stored bytes do not match the recorded sha256")
            sums[name] = digest
            yield sink.drain()
        meta = json.dumps(package_metadata(code, docs, official, names, sums, when, signatures), ensure_ascii=False,
                          indent=1).encode("utf-8")
        zf.writestr(_info("metadata.json", when, zipfile.ZIP_DEFLATED), meta)
        sums["metadata.json"] = hashlib.sha256(meta).hexdigest()
        lines = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
        zf.writestr(_info("SHA256SUMS", when, zipfile.ZIP_DEFLATED), lines.encode("ascii"))
    yield sink.drain()
