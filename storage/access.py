"""Access control and accountability: API keys (stored hashed), the audit log, import jobs, and the
records of what left the agency: signatures of electronic copies and publications to the portal.

The tables are defined in :mod:`storage.schema` with the index's, and created by its migrations.

Keys are ``dgz_<key id>_<secret>``: the key id (public, 12 hex digits) finds the row, the sha256 of
the whole token is compared in constant time with the stored one. A token is shown once, when it is
created; only its hash is kept. Revoked keys stay in the table so the audit log keeps their names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digitize.errors import DigitizeError, InputError, NotFoundError, StorageError
from storage.index import Index
from storage.schema import (
    api_keys,
    audit_log,
    import_jobs,
    now,
    publications,
    signatures,
)

ROLES = ("portal", "clerk", "admin")
# what each role may do; "read" covers dossier/document/search/job lookups
GRANTS: dict[str, frozenset[str]] = {
    "portal": frozenset({"read", "download"}),
    "clerk": frozenset({"read", "download", "import", "review"}),
    "admin": frozenset({"read", "download", "import", "review", "admin"}),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_TOKEN = re.compile(r"^dgz_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")



class DuplicateKeyNameError(DigitizeError):
    """An API key with this name already exists (names stay unique, even after revocation)."""

    http_status = 409
    reason = "duplicate_key_name"


@dataclass(frozen=True)
class ApiKey:
    """An authenticated caller: the key's name (who, in the audit log) and its role."""

    key_id: str
    name: str
    role: str

    def may(self, permission: str) -> bool:
        """True when the key's role grants ``permission``."""
        return permission in GRANTS.get(self.role, frozenset())


def _engine(index_or_engine: Index | Engine) -> Engine:
    return index_or_engine.engine if isinstance(index_or_engine, Index) else index_or_engine


def hash_token(token: str) -> str:
    """sha256 hex digest of a token (tokens carry 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(index_or_engine: Index | Engine, name: str, role: str) -> str:
    """Create an API key and return its token (shown once; only the hash is stored)."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise InputError("a key name has 1-64 letters, digits, '_', '.', '@' or '-' and starts with a letter or digit")
    key_id = secrets.token_hex(6)
    token = f"dgz_{key_id}_{secrets.token_urlsafe(32)}"
    with _engine(index_or_engine).begin() as conn:
        if conn.execute(sa.select(api_keys.c.key_id).where(api_keys.c.name == name)).first():
            raise DuplicateKeyNameError(f"an API key named {name!r} already exists")
        conn.execute(api_keys.insert().values(key_id=key_id, name=name, role=role, key_hash=hash_token(token),
                                              created_at=now(), revoked_at=None))
    return token


def revoke_key(index_or_engine: Index | Engine, name: str) -> None:
    """Revoke the key called ``name``; NotFoundError when there is no active key of that name."""
    with _engine(index_or_engine).begin() as conn:
        n = conn.execute(api_keys.update().where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                         .values(revoked_at=now())).rowcount
    if not n:
        raise NotFoundError(f"no active API key named {name!r}")


def list_keys(index_or_engine: Index | Engine) -> list[dict[str, Any]]:
    """Every key (without hashes), oldest first."""
    q = sa.select(api_keys.c.key_id, api_keys.c.name, api_keys.c.role, api_keys.c.created_at,
                  api_keys.c.revoked_at).order_by(api_keys.c.created_at, api_keys.c.name)
    with _engine(index_or_engine).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


_DUMMY_HASH = hash_token("dgz_000000000000_" + "0" * 43)


def key_active(index_or_engine: Index | Engine, key_id: str) -> bool:
    """True while the key exists and is not revoked."""
    with _engine(index_or_engine).connect() as conn:
        row = conn.execute(sa.select(api_keys.c.key_id).where(api_keys.c.key_id == key_id,
                                                              api_keys.c.revoked_at.is_(None))).first()
    return row is not None


def authenticate(index_or_engine: Index | Engine, token: str | None) -> ApiKey | None:
    """The active key matching ``token``, or None (unknown, malformed or revoked)."""
    if not token:
        return None
    m = _TOKEN.match(token)
    key_id = m.group(1) if m else ""
    with _engine(index_or_engine).connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id,
                                                     api_keys.c.revoked_at.is_(None))).first() if m else None
    stored = row.key_hash if row is not None else _DUMMY_HASH
    ok = hmac.compare_digest(hash_token(token), stored)
    if row is None or not ok:
        return None
    return ApiKey(key_id=row.key_id, name=row.name, role=row.role)


def record(index_or_engine: Index | Engine, *, who: str, role: str | None, action: str, target: str,
           ip: str | None, status: int, detail: dict[str, Any] | None = None) -> None:
    """Append one entry to the audit log."""
    with _engine(index_or_engine).begin() as conn:
        conn.execute(audit_log.insert().values(at=now(), who=who, role=role, action=action, target=target, ip=ip,
                                               status=status,
                                               detail=json.dumps(detail or {}, ensure_ascii=False, default=str)))


def audit_entries(index_or_engine: Index | Engine, *, who: str | None = None, action: str | None = None,
                  since: dt.datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally filtered."""
    q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if who is not None:
        q = q.where(audit_log.c.who == who)
    if action is not None:
        q = q.where(audit_log.c.action == action)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    with _engine(index_or_engine).connect() as conn:
        return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in conn.execute(q)]


def create_job(index_or_engine: Index | Engine, *, job_id: str, sha256: str, filename: str, who: str) -> None:
    """Remember an import job (job id -> uploaded file)."""
    with _engine(index_or_engine).begin() as conn:
        conn.execute(import_jobs.insert().values(job_id=job_id, sha256=sha256, filename=filename, created_by=who,
                                                 created_at=now()))


def get_job(index_or_engine: Index | Engine, job_id: str) -> dict[str, Any] | None:
    """The import job's row, or None."""
    with _engine(index_or_engine).connect() as conn:
        row = conn.execute(sa.select(import_jobs).where(import_jobs.c.job_id == job_id)).first()
    return dict(row._mapping) if row else None


# --- signatures of electronic copies ------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """The signed copy of a document: which unsigned PDF it signs, where it is, who signed, when."""

    doc_id: str
    source_sha256: str
    signed_key: str
    signed_sha256: str
    signer: str
    cert_sha256: str
    signed_at: dt.datetime

    def covers(self, pdf_sha256: str | None) -> bool:
        """True when this signature was made over the document PDF whose sha256 is ``pdf_sha256``."""
        return pdf_sha256 is None or pdf_sha256 == self.source_sha256


def _signature(row: Any) -> Signature:
    m = dict(row._mapping)
    at = m["signed_at"]
    m["signed_at"] = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return Signature(**m)


def get_signatures(index_or_engine: Index | Engine, doc_ids: list[str]) -> dict[str, Signature]:
    """The recorded signatures of these documents (whether or not they still cover the current PDF)."""
    if not doc_ids:
        return {}
    with _engine(index_or_engine).connect() as conn:
        rows = conn.execute(sa.select(signatures).where(signatures.c.doc_id.in_(doc_ids)))
        return {r.doc_id: _signature(r) for r in rows}


def record_signature(index_or_engine: Index | Engine, sig: Signature) -> Signature:
    """Record ``sig`` unless the document already has a signature over the same PDF; return the one in force.

    A signature over an older PDF (the document was re-made since) is replaced. When two signers race,
    the first one recorded wins and both get it back (the loser deletes its own signed object).
    """
    engine = _engine(index_or_engine)
    values = {"source_sha256": sig.source_sha256, "signed_key": sig.signed_key, "signed_sha256": sig.signed_sha256,
              "signer": sig.signer, "cert_sha256": sig.cert_sha256, "signed_at": sig.signed_at}
    with engine.begin() as conn:
        stmt = _dialect_insert(conn)(signatures).values(doc_id=sig.doc_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["doc_id"], set_=values,
                                                where=signatures.c.source_sha256 != sig.source_sha256))
        row = conn.execute(sa.select(signatures).where(signatures.c.doc_id == sig.doc_id)).one()
    return _signature(row)


def _dialect_insert(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise StorageError(f"unsupported index database {conn.dialect.name!r} (use SQLite or PostgreSQL)")
    return insert


# --- publications to the portal -----------------------------------------------------------------


def get_publication(index_or_engine: Index | Engine, idempotency_key: str) -> dict[str, Any] | None:
    """The publication row of this idempotency key (the sha256 of the PDF sent), or None."""
    with _engine(index_or_engine).connect() as conn:
        row = conn.execute(sa.select(publications).where(publications.c.idempotency_key == idempotency_key)).first()
    return dict(row._mapping) if row else None


def record_publication(index_or_engine: Index | Engine, *, idempotency_key: str, doc_id: str, dossier_id: str,
                       endpoint: str, status: str, signed: bool, attempts: int, http_status: int | None,
                       package_sha256: str | None, receipt: str | None) -> None:
    """Insert or update the publication of one document copy (a published row is never turned back to failed)."""
    at = now()
    values = {"doc_id": doc_id, "dossier_id": dossier_id, "endpoint": endpoint, "status": status, "signed": signed,
              "attempts": attempts, "http_status": http_status, "package_sha256": package_sha256,
              "receipt": (receipt or "")[:2000] or None, "updated_at": at,
              "published_at": at if status == "published" else None}
    with _engine(index_or_engine).begin() as conn:
        stmt = _dialect_insert(conn)(publications).values(idempotency_key=idempotency_key, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["idempotency_key"], set_=values,
                                                where=publications.c.status != "published"))


def list_publications(index_or_engine: Index | Engine, *, dossier_id: str | None = None,
                      doc_id: str | None = None) -> list[dict[str, Any]]:
    """Publication rows, oldest first, optionally of one dossier or document."""
    q = sa.select(publications).order_by(publications.c.updated_at, publications.c.doc_id)
    if dossier_id is not None:
        q = q.where(publications.c.dossier_id == dossier_id)
    if doc_id is not None:
        q = q.where(publications.c.doc_id == doc_id)
    with _engine(index_or_engine).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
