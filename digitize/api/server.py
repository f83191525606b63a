"""``digitize serve``: open the configured index and object store and run the API with uvicorn."""

from __future__ import annotations

import logging

from digitize.config import Settings
from digitize.errors import ConfigError
from storage.index import Index
from storage.objects import LocalObjectStore, ObjectStore

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> ObjectStore:
    """The object store named by ``settings.object_store`` ("local" or "s3")."""
    if settings.object_store == "local":
        return LocalObjectStore(settings.archive / "objects")
    if settings.object_store == "s3":
        from storage.s3 import make_s3_store

        return make_s3_store(settings)
    raise ConfigError(f"unknown object store {settings.object_store!r}; use 'local' or 's3'")


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the API over the configured index and store until interrupted."""
    import uvicorn

    from digitize.api.app import create_app
    from digitize.sign import load_signer
    from storage.index import engine_url_safe

    signer = load_signer(settings)  # before opening anything: a wrong certificate stops here
    index = Index.from_url(settings.sqlite_url())
    store = open_store(settings)
    app = create_app(settings, index, store, signer=signer)
    log.info("serving %s with %r on http://%s:%d (%s)", engine_url_safe(settings.sqlite_url()), store, host, port,
             f"copies signed by {signer.agency}" if signer else "no certificate: copies are unsigned")
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        index.close()
