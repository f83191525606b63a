"""Storage: the object store (a local folder or S3) and the index (SQLite or PostgreSQL).

:func:`open` is the one door: the CLI, the workers and the API all open their storage through it,
so an unknown ``DIGITIZE_OBJECT_STORE`` is refused the same way everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from digitize.errors import ConfigError

if TYPE_CHECKING:
    from digitize.config import Settings
    from storage.index import Index
    from storage.objects import ObjectStore
    from storage.s3 import RetryPolicy

OBJECT_STORES = ("local", "s3")


class Storage(NamedTuple):
    """The opened object store and index."""

    store: ObjectStore
    index: Index


def open_store(settings: Settings, *, retry: RetryPolicy | None = None) -> ObjectStore:
    """The object store the settings select (``local``: a folder in the archive; ``s3``: any S3 service).
    Does not connect; ``retry`` is the S3 client's policy for transient errors."""
    if settings.object_store == "local":
        from storage.objects import LocalObjectStore

        return LocalObjectStore(settings.archive / "objects")
    if settings.object_store == "s3":
        from storage.s3 import make_s3_store

        return make_s3_store(settings, retry=retry)
    raise ConfigError(f"unknown object store {settings.object_store!r} "
                      f"(DIGITIZE_OBJECT_STORE: {' or '.join(OBJECT_STORES)})")


def open(settings: Settings, *, retry: RetryPolicy | None = None) -> Storage:  # noqa: A001 - storage.open
    """Open the object store and the index (migrated) the settings select; the archive folder is
    created when it holds either."""
    from storage.index import Index

    store = open_store(settings, retry=retry)
    if settings.object_store == "local" or not settings.index_url:
        settings.archive.mkdir(parents=True, exist_ok=True)
    return Storage(store=store, index=Index.from_url(settings.index_db_url()))
