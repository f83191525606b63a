"""Pydantic models of every request and response body, so ``/openapi.json`` describes the API exactly."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from digitize.errors import DossierCodeError

Role = Literal["portal", "clerk", "admin"]
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


class ErrorOut(BaseModel):
    """Every non-validation error: a message for people and a stable reason code for programs."""

    detail: str
    reason: str


class FieldOut(BaseModel):
    """One extracted value with its confidence (0..1) and, when doubtful, why."""

    value: str | None
    confidence: float
    reason: str | None = None


class MetadataOut(BaseModel):
    """Decree 30/2020 metadata of a document (contract names)."""

    doc_type: str | None
    number: str | None
    issued_date: str | None
    issuer: str | None
    place: str | None
    summary: str | None
    signer: str | None
    signer_position: str | None


class ReviewOut(BaseModel):
    """Review state: whether a clerk must look, why, and the last review."""

    needs_review: bool
    reasons: list[str]
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    state: Literal["pending", "approved", "not_needed"] = Field(
        "not_needed", description="pending: a clerk must look (hidden from the portal role); approved: a clerk "
        "cleared it; not_needed: nothing was doubtful")


class SignatureOut(BaseModel):
    """The agency's signature on the electronic copy (PAdES, Decree 30/2020 mark on page 1)."""

    signed_at: dt.datetime
    signer: str
    sha256: str


class DocumentOut(BaseModel):
    """A result document as the portal sees it."""

    doc_id: str
    dossier_code: str | None
    dossier_source: str | None
    kind: str
    source: str
    pages: list[int]
    status: Literal["ready", "needs_review", "no_pdf"]
    metadata: MetadataOut
    official: dict[str, str | int | None]
    contains_personal_id: bool
    review: ReviewOut
    pdf_sha256: str | None
    signed: bool
    signature: SignatureOut | None
    download_path: str | None


class HistoryOut(BaseModel):
    """One entry of a document's change history."""

    action: str
    who: str
    at: dt.datetime
    detail: dict[str, object]


class DocumentDetailOut(DocumentOut):
    """A document with its confidences, text and change history."""

    fields: dict[str, FieldOut]
    text: str
    history: list[HistoryOut]


class DossierOut(BaseModel):
    """A dossier (hồ sơ) and its result documents."""

    dossier_code: str
    status: Literal["ready", "needs_review"]
    document_count: int
    needs_review_count: int
    documents: list[DocumentOut]


class DocumentUpdate(BaseModel):
    """Corrections from review. Only the keys present are changed; ``null`` clears a value."""

    model_config = ConfigDict(extra="forbid")

    doc_type: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=100)
    issued_date: str | None = Field(default=None, pattern=DATE_PATTERN)
    issuer: str | None = Field(default=None, max_length=500)
    place: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)
    signer: str | None = Field(default=None, max_length=200)
    signer_position: str | None = Field(default=None, max_length=200)
    dossier_code: str | None = Field(default=None, max_length=64)
    needs_review: bool | None = None
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("issued_date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)  # ValueError -> 422
        return value

    @field_validator("dossier_code")
    @classmethod
    def _dossier_code(cls, value: str | None) -> str | None:
        from digitize.api.validate import dossier_code

        if value is not None:
            try:
                dossier_code(value)
            except DossierCodeError as e:
                raise ValueError(e.message) from e
        return value


class ImportOut(BaseModel):
    """The result of an upload: the job that processes it."""

    job_id: str
    sha256: str
    filename: str
    size: int
    status: str
    duplicate: bool


class JobOut(BaseModel):
    """An import job and the state of its file."""

    job_id: str
    sha256: str
    filename: str
    status: str
    page_count: int
    pages_done: int
    pages_failed: int
    error_reason: str | None
    error_message: str | None
    documents: list[str]
    created_by: str
    created_at: dt.datetime


class SearchOut(BaseModel):
    """One page of search results, best first. ``total`` is exact up to 1,000 matches; a query matching
    more says ``total: 1000, total_is_exact: false`` ("more than 1000")."""

    query: str | None
    total: int = Field(description="matches, counted up to 1,000")
    total_is_exact: bool = Field(description="false when there are more matches than total (the count stopped)")
    limit: int
    offset: int
    results: list[DocumentOut]


class HealthOut(BaseModel):
    """Liveness of the index and the object store."""

    status: Literal["ok", "failing"]
    index: Literal["ok", "failing"]
    store: Literal["ok", "failing"]


class KeyCreate(BaseModel):
    """A new API key's name (who, in the audit log) and role."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    role: Role


class KeyOut(BaseModel):
    """An API key without its secret."""

    key_id: str
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeyCreatedOut(KeyOut):
    """A new API key with its token, shown this once."""

    token: str


class AuditOut(BaseModel):
    """One audit-log entry."""

    at: dt.datetime
    who: str
    role: str | None
    action: str
    target: str
    ip: str | None
    status: int
    detail: dict[str, object]
