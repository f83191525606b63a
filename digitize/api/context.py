"""What the routes share: configuration, the index, the store and the hooks given to ``create_app``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine

from digitize.config import Settings
from storage.index import Index
from storage.objects import ObjectStore


@dataclass(frozen=True)
class ApiContext:
    """Everything a request handler needs; built once by ``create_app``."""

    settings: Settings
    index: Index
    store: ObjectStore
    keys: Engine  # where api_keys, audit_log and import_jobs live
    on_import: Callable[[str, str], str] | None
    queue_depth: Callable[[], int] | None
    presign_ttl: dt.timedelta
    official: Callable[..., dict[str, Any]]
    metrics: Any
    signer: Any = None  # digitize.handoff.sign.CopySigner: copies are signed as they leave; None = unsigned


async def ctx(request: Request) -> ApiContext:
    """The app's context (a FastAPI dependency; async so it costs no thread-pool hop)."""
    return request.app.state.ctx
