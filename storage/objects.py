"""Object storage: a small protocol and the local-folder implementation (the embedded default).

Keys are ``/``-separated, e.g. ``originals/ab/abcdef....pdf``. Every ``put`` returns the sha256 of
the bytes written so callers can record it. The S3/MinIO implementation lives in
``storage/s3.py`` and implements the same protocol.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from digitize.errors import NotFoundError, StorageError

CHUNK = 1 << 20


@runtime_checkable
class ObjectStore(Protocol):
    """What the pipeline needs from object storage."""

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` under ``key`` (overwriting) and return its sha256."""
        ...

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        """Store the file at ``path`` under ``key``, streaming, and return its sha256."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Return the object's bytes; NotFoundError when absent."""
        ...

    def get_file(self, key: str, path: Path) -> None:
        """Write the object to ``path``, streaming."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object (caller closes it)."""
        ...

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is already gone."""
        ...

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove every key (in as few requests as the store allows); missing keys are no error."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys that start with ``prefix``, in lexical order."""
        ...


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid object key {key!r}")
    return key


class LocalObjectStore:
    """Objects as files under a root folder; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _atomic_write(self, key: str, write: callable) -> str:  # type: ignore[valid-type]
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                write(out, h)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return h.hexdigest()

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` under ``key`` and return its sha256."""

        def write(out: BinaryIO, h: hashlib._Hash) -> None:
            h.update(data)
            out.write(data)

        return self._atomic_write(key, write)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        """Copy the file at ``path`` under ``key`` and return its sha256."""

        def write(out: BinaryIO, h: hashlib._Hash) -> None:
            with open(path, "rb") as src:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    h.update(chunk)
                    out.write(chunk)

        return self._atomic_write(key, write)

    def get_bytes(self, key: str) -> bytes:
        """Return the object's bytes."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as e:
            raise NotFoundError(f"object {key!r} not found") from e

    def get_file(self, key: str, path: Path) -> None:
        """Copy the object to ``path``."""
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError as e:
            raise NotFoundError(f"object {key!r} not found") from e

    def open(self, key: str) -> BinaryIO:
        """Open the object for reading."""
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as e:
            raise NotFoundError(f"object {key!r} not found") from e

    def local_path(self, key: str) -> Path:
        """Where the object lives on disk (local store only; lets tools read without a copy)."""
        path = self._path(key)
        if not path.exists():
            raise NotFoundError(f"object {key!r} not found")
        return path

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._path(key).unlink(missing_ok=True)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove every key present."""
        for key in keys:
            self.delete(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` in lexical order (temp files excluded)."""
        keys = []
        for p in self.root.rglob("*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                key = p.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)
