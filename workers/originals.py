"""A worker machine's local copies of originals (downloaded once per machine, sha256 verified)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from digitize.config import Settings
from digitize.errors import IntegrityError
from digitize.models import InputKind, SourceFile
from storage import layout
from storage.objects import ObjectStore, sha256_file


def source_file(row: dict[str, Any], path: str = "") -> SourceFile:
    """The ``SourceFile`` of an index row (the path is the worker's local copy, when it has one)."""
    return SourceFile(path=path, source=row["source"], sha256=row["sha256"], size=int(row["size"] or 0),
                      kind=InputKind(row["kind"]), page_count=int(row["page_count"] or 0))


def local_original(store: ObjectStore, settings: Settings, row: dict[str, Any]) -> Path:
    """The worker's local copy of a file's original (downloaded once per machine, sha256 verified)."""
    sha = row["sha256"]
    key = row["original_key"] or layout.original_key(sha, row["kind"])
    cache = Path(settings.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / Path(key).name
    if path.is_file():
        os.utime(path)  # in use: keep it out of the worker's sweep of old copies
        return path
    tmp = cache / f".{path.name}.{os.getpid()}.part"
    try:
        store.get_file(key, tmp)
        if sha256_file(tmp) != sha:
            raise IntegrityError(f"object {key!r} does not match its sha256")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def drop_local_original(settings: Settings, row: dict[str, Any]) -> None:
    """Remove this machine's copy of an original once its file is finished."""
    key = row["original_key"] or layout.original_key(row["sha256"], row["kind"] or "")
    (Path(settings.cache_dir) / Path(key).name).unlink(missing_ok=True)
