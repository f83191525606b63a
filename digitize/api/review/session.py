"""Sessions of the review station: a clerk signs in once with an API key of the clerk (or admin) role
and gets a random session id in a ``Secure; HttpOnly; SameSite=Strict`` cookie scoped to ``/review``.
Every change (POST) carries the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``).

Sessions live in the server's memory (a restart signs everyone out); each request checks that the key
is still active, so revoking a key ends its sessions at once. The key's token is never stored.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import Request

from storage import access
from storage.access import ApiKey

COOKIE = "digitize_review"
LOGIN_COOKIE = "digitize_review_login"  # double-submit token of the sign-in form
PATH = "/review"
IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600


class LoginRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """No valid session: the browser is sent to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class StationError(Exception):
    """An answer of the station as an HTML page: status and a message in Vietnamese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Session:
    """One signed-in clerk."""

    key: ApiKey
    csrf: str
    created: float
    seen: float = field(default=0.0)
    flash: str | None = None  # a message for the next page shown (e.g. why a structure fix was refused)


class Sessions:
    """The open sessions, by id (thread-safe: handlers run in the thread pool)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, key: ApiKey) -> tuple[str, Session]:
        """A new session for ``key``: (session id, session)."""
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(key=key, csrf=secrets.token_urlsafe(32), created=now, seen=now)
        with self._lock:
            self._by_id = {k: s for k, s in self._by_id.items() if not _expired(s, now)}
            self._by_id[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        """The live session of this id, or None (unknown or expired)."""
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._by_id.get(sid)
            if session is None or _expired(session, now):
                self._by_id.pop(sid, None)
                return None
            session.seen = now
            return session

    def close(self, sid: str | None) -> None:
        """End a session (logout)."""
        with self._lock:
            self._by_id.pop(sid or "", None)


def _expired(s: Session, now: float) -> bool:
    return now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS


def _key_active(request: Request, key: ApiKey) -> bool:
    return access.key_active(request.app.state.ctx.keys, key.key_id)


def current(request: Request) -> Session:
    """The request's clerk session (a FastAPI dependency); LoginRequired when there is none."""
    sessions: Sessions = request.app.state.review_sessions
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None or not _key_active(request, session.key):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else PATH)
    return session


def check_csrf(session: Session, token: str | None) -> None:
    """StationError 403 unless ``token`` is the session's CSRF token."""
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise StationError(403, "Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang.")


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path inside the station, never another site."""
    if path and path.startswith(PATH) and not path.startswith("//") and "\\" not in path:
        return path
    return PATH
