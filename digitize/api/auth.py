"""API-key authentication and role checks, as FastAPI dependencies, and the audit helper.

A key comes in ``X-API-Key: <token>`` or ``Authorization: Bearer <token>``. No key or an unknown
one gives 401; a key whose role lacks the permission gives 403 (and an audit entry).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from digitize.api.context import ApiContext, ctx
from digitize.errors import DigitizeError
from storage import access
from storage.access import ApiKey

log = logging.getLogger(__name__)

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
bearer = HTTPBearer(auto_error=False, scheme_name="Bearer")


class UnauthorizedError(DigitizeError):
    """No API key, or one that is unknown or revoked."""

    http_status = 401
    reason = "unauthorized"


class ForbiddenError(DigitizeError):
    """The key's role does not allow this."""

    http_status = 403
    reason = "forbidden"


def client_ip(request: Request) -> str | None:
    """The peer address (the API is meant to sit behind the agency's own reverse proxy)."""
    return request.client.host if request.client else None


def audit(request: Request, key: ApiKey | None, action: str, target: str, status: int,
          detail: dict[str, Any] | None = None) -> None:
    """Append an audit entry for this request."""
    c: ApiContext = request.app.state.ctx
    access.record(c.keys, who=key.name if key else "anonymous", role=key.role if key else None, action=action,
                  target=target, ip=client_ip(request), status=status, detail=detail)


def require(permission: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that authenticates the caller and checks ``permission`` (see ``storage.access.GRANTS``)."""

    async def dependency(request: Request, c: ApiContext = Depends(ctx),
                         api_key: str | None = Security(api_key_header),
                         credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> ApiKey:
        # async on purpose: one primary-key lookup is cheaper inline than a thread-pool hop per request
        token = api_key or (credentials.credentials if credentials else None)
        key = access.authenticate(c.keys, token)
        if key is None:
            if token:
                raise UnauthorizedError("unknown or revoked API key: ask an administrator for a valid key")
            raise UnauthorizedError("an API key is required (X-API-Key or Authorization: Bearer)")
        if not key.may(permission):
            log.warning("key %s (role %s) denied %s on %s", key.name, key.role, permission, request.url.path)
            audit(request, key, "denied", request.url.path, 403, {"permission": permission})
            raise ForbiddenError(f"the role {key.role!r} may not {permission}")
        return key

    return dependency
