"""The portal API's test environment: a temporary SQLite index (or any index URL) and object store,
filled with a fixed set of documents (``SPECS``), API keys for every role, and a TestClient."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from digitize.api.app import create_app
from digitize.config import Settings
from digitize.models import Document, Field, Metadata
from storage import access, layout
from storage.index import Index
from storage.objects import LocalObjectStore, ObjectStore

FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
D1 = "000.00.13.H56-210615-0001"
D2 = "H26.107.01-260203-010023"


def render_pdf(lines: list[str]) -> bytes:
    """A one-page PDF of a rendered page with Vietnamese text (Liberation Serif via Pillow)."""
    im = Image.new("L", (620, 300), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 26) if FONT.exists() else ImageFont.load_default()
    for i, line in enumerate(lines):
        draw.text((30, 30 + 40 * i), line, fill=0, font=font)
    out = io.BytesIO()
    im.save(out, format="PDF", resolution=100)
    return out.getvalue()


def meta(doc_type: str | None, number: str | None, date: str | None, issuer: str | None, summary: str | None,
         signer: str | None = "Nguyễn Văn A", position: str | None = "Chủ tịch") -> Metadata:
    return Metadata(doc_type=Field(doc_type, 0.9), number=Field(number, 0.8), issued_date=Field(date, 0.7),
                    issuer=Field(issuer, 0.9), place=Field("Kiến Xương", 0.6), summary=Field(summary, 0.6),
                    signer=Field(signer, 0.8), signer_position=Field(position, 0.8))


# (sha seed, page, dossier, metadata, text, needs_review, reasons, has_pdf)
SPECS: list[tuple[str, int, str | None, Metadata, str, bool, tuple[str, ...], bool]] = [
    ("a", 1, D1, meta("Quyết định", "123/QĐ-UBND", "2021-06-15", "Ủy ban nhân dân huyện Kiến Xương",
                      "Về việc cấp phép xây dựng nhà ở"),
     "QUYẾT ĐỊNH\nQuyết định cấp phép xây dựng nhà ở riêng lẻ", False, (), True),
    ("a", 3, D1, meta("Giấy phép xây dựng", "45/GPXD", None, "Ủy ban nhân dân huyện Kiến Xương",
                      "Giấy phép xây dựng nhà ở"),
     "GIẤY PHÉP XÂY DỰNG số 45/GPXD", True, ("issued_date: unreadable",), True),
    ("b", 1, D2, meta("Quyết định", "7/QĐ-UBND", "2026-02-03", "Ủy ban nhân dân xã Vũ Tây",
                      "Ve viec quyet dinh cap phep kinh doanh"),
     "quyet dinh cap phep kinh doanh (ban khong dau)", False, (), True),
    ("c", 1, D2, meta("Quyết định", "8/QĐ-UBND", "2025-01-20", "Ủy ban nhân dân xã Vũ Tây",
                      "Về việc cấp phép khai thác"),
     "Quyết định cáp phép khai thác cát", False, (), False),
    ("d", 1, None, meta("Trích lục khai sinh", "12/TLKS", "2019-03-04", "Ủy ban nhân dân phường Kỳ Bá",
                        "Trích lục khai sinh"),
     "TRÍCH LỤC KHAI SINH", False, (), True),
]


@dataclass
class Env:
    client: TestClient
    index: Index
    store: ObjectStore
    settings: Settings
    tokens: dict[str, str]
    docs: dict[str, Document]
    pdfs: dict[str, bytes]

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.tokens[role]}


def populate(index: Index, store: ObjectStore) -> tuple[dict[str, Document], dict[str, bytes]]:
    """Index the SPECS documents and put their PDFs in the store."""
    docs: dict[str, Document] = {}
    pdfs: dict[str, bytes] = {}
    by_file: dict[str, list[Document]] = {}
    for seed, page, dossier, md, text, review, reasons, has_pdf in SPECS:
        sha = hashlib.sha256(seed.encode()).hexdigest()
        doc_id = f"{sha[:16]}-d{page:04d}"
        pdf_key = pdf_sha = None
        if has_pdf:
            pdf = render_pdf([md.doc_type.value or "", md.number.value or "", doc_id])
            pdf_key = layout.document_key(doc_id, "document.pdf")
            pdf_sha = store.put_bytes(pdf_key, pdf, "application/pdf")
            pdfs[doc_id] = pdf
        doc = Document(doc_id=doc_id, sha256=sha, source=f"box1/{seed}.pdf", pages=(page, page + 1), kind="result",
                       dossier_id=dossier, dossier_source="separator" if dossier else None, metadata=md, text=text,
                       needs_review=review, reasons=reasons, pdf_key=pdf_key, pdf_sha256=pdf_sha)
        docs[doc_id] = doc
        by_file.setdefault(sha, []).append(doc)
    for sha, file_docs in by_file.items():
        index.upsert_file(sha, source=file_docs[0].source, size=1000, kind="pdf", page_count=4, status="done")
        index.replace_documents(sha, file_docs)
    return docs, pdfs


def populated_archive(root: Path) -> Path:
    """An archive folder (SQLite index and local objects) holding the fixed documents, closed again."""
    index = Index.from_url(f"sqlite:///{root / 'index.sqlite'}")
    populate(index, LocalObjectStore(root / "objects"))
    index.close()
    return root


def make_env(tmp_path: Path, store: ObjectStore | None = None, index_url: str | None = None,
             **app_kwargs: Any) -> Env:
    settings = Settings(archive=tmp_path, max_upload_bytes=app_kwargs.pop("max_upload_bytes", 5_000_000))
    index = Index.from_url(index_url or f"sqlite:///{tmp_path / 'index.sqlite'}")
    store = store or LocalObjectStore(tmp_path / "objects")
    docs, pdfs = populate(index, store)
    tokens = {role: access.create_key(index, f"{role}-key", role) for role in access.ROLES}
    client = TestClient(create_app(settings, index, store, **app_kwargs))
    return Env(client, index, store, settings, tokens, docs, pdfs)


def doc_id_of(env: Env, number: str) -> str:
    return next(d.doc_id for d in env.docs.values() if d.metadata.number.value == number)
