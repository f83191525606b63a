"""Access control and accountability: API keys (stored hashed), the audit log and import jobs.

The tables live on :data:`storage.index.meta` and are created by the index's v1 migration.

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

from digitize.errors import DigitizeError, InputError, NotFoundError
from storage.index import Index, meta, now

ROLES = ("portal", "clerk", "admin")
# what each role may do; "read" covers dossier/document/search/job lookups
GRANTS: dict[str, frozenset[str]] = {
    "portal": frozenset({"read", "download"}),
    "clerk": frozenset({"read", "download", "import", "review"}),
    "admin": frozenset({"read", "download", "import", "review", "admin"}),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_TOKEN = re.compile(r"^dgz_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

api_keys = sa.Table(
    "api_keys",
    meta,
    sa.Column("key_id", sa.String(12), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

audit_log = sa.Table(
    "audit_log",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("who", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)

import_jobs = sa.Table(
    "import_jobs",
    meta,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

TABLES = [api_keys, audit_log, import_jobs]


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
