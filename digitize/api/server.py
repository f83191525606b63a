"""``digitize serve``: open the configured index and object store and run the API with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Callable

import storage
from digitize.config import Settings
from digitize.errors import ConfigError
from storage.index import Index
from storage.objects import ObjectStore

log = logging.getLogger(__name__)


def describe_store(store: ObjectStore) -> str:
    """Where the objects are, for a start-up line (a folder, or an S3 bucket)."""
    root = getattr(store, "root", None)
    if root is not None:
        return str(root)
    bucket = getattr(store, "bucket", None)
    return f"S3 bucket {bucket}" if bucket else type(store).__name__


def import_hooks(settings: Settings, index: Index, store: ObjectStore
                 ) -> tuple[Callable[[str, str], str] | None, Callable[[], int] | None]:
    """``(on_import, queue_depth)`` for the API: with ``settings.api_queue`` an uploaded scan gets its
    ingest job on the workers' queues (the same job ``digitize enqueue`` makes) and the queue depth is
    measured; without it, (None, None). Redis must answer when the API starts."""
    if not settings.api_queue:
        return None, None
    from workers.cluster import Cluster, redis_client
    from workers.queue import QUEUES, pending_jobs, submit_ingest

    redis = redis_client(settings)
    try:
        redis.ping()
    except Exception as e:  # redis' own errors: connection refused, auth, timeout
        raise ConfigError(f"DIGITIZE_API_QUEUE is set but Redis does not answer at DIGITIZE_REDIS_URL: "
                          f"{e.__class__.__name__}: {e}") from e
    cluster = Cluster(settings=settings, redis=redis, index=index, store=store)

    def on_import(sha256: str, filename: str) -> str:
        job_id = submit_ingest(cluster, sha256)
        log.info("%s: queued for the workers (%s)", filename, job_id)
        # the API names its import job itself: the queue's job id is one per file, and a file that
        # failed may be uploaded again
        return ""

    def queue_depth() -> int:
        return pending_jobs(redis, QUEUES)

    return on_import, queue_depth


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the API over the configured index and store until interrupted."""
    import uvicorn

    from digitize.api.app import create_app
    from digitize.handoff.sign import load_signer
    from storage.index import engine_url_safe

    signer = load_signer(settings)  # before opening anything: a wrong certificate stops here
    store, index = storage.open(settings)
    on_import, queue_depth = import_hooks(settings, index, store)
    app = create_app(settings, index, store, signer=signer, on_import=on_import, queue_depth=queue_depth)
    signing = f"copies signed by {signer.agency}" if signer else "no certificate: copies are unsigned"
    log.info("serving http://%s:%d — index %s, objects in %s; %s", host, port,
             engine_url_safe(settings.index_db_url()), describe_store(store), signing)
    try:
        # access log: one line per request (client, method, path, status) through the "uvicorn.access" logger
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=True)
    finally:
        index.close()
