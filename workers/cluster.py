"""The distributed driver: rq queues on Redis, any S3 object store, the index in PostgreSQL.

The same stage functions as the embedded driver (``process_page``, ``finish_file``) run as rq jobs
in three queues, so operators can run more OCR workers than the others:

- ``ingest`` (``workers.jobs.ingest``): check the stored original, count its pages, fan out one page
  job per page that is not done yet (or the finish job when every page is);
- ``ocr`` (``workers.jobs.ocr_page``): one page — preprocess, codes, OCR, searchable page; saves the
  page result by key and, when it was the file's last page, enqueues the finish job once;
- ``extract`` (``workers.jobs.finish``): segment, extract, assemble and store the documents, index
  them, write the file record and delete the page intermediates.

Jobs carry a file's sha256 and a page number, never images. Job ids are deterministic
(``ingest-<sha16>``, ``page-<sha16>-<page>``, ``finish-<sha16>``) and enqueued with rq's atomic
``unique`` check, so a job is never queued twice; the index and object storage are the truth, so
``reconcile`` can rebuild the queues after Redis lost them and ``reindex`` rebuilds the index.

Clients are built here from ``Settings`` (at the edge), never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import storage
from digitize.config import Settings
from digitize.errors import StorageError
from storage.index import Index
from storage.objects import ObjectStore

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

    from storage.s3 import RetryPolicy


def patient_retry() -> RetryPolicy:
    """The workers' S3 retry policy: patient, as an S3 restart takes seconds (the job's own retries
    cover longer outages)."""
    from storage.s3 import RetryPolicy

    return RetryPolicy(attempts=6, base_delay=0.5, max_delay=8.0)


@dataclass
class Cluster:
    """The shared services of distributed mode, built from settings at the edge."""

    settings: Settings
    redis: Redis
    index: Index
    store: ObjectStore

    def queue(self, name: str) -> Queue:
        """The rq queue ``name`` on this cluster's Redis."""
        from rq import Queue

        return Queue(name, connection=self.redis, default_timeout=self.settings.job_timeout)


def redis_client(settings: Settings) -> Redis:
    """A Redis client that retries transient connection errors with exponential backoff (~30 s)."""
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    retry = Retry(ExponentialBackoff(cap=8.0, base=0.25), 8,
                  supported_errors=(RedisConnectionError, RedisTimeoutError, TimeoutError, ConnectionError))
    return Redis.from_url(settings.redis_url, retry=retry, socket_connect_timeout=5, health_check_interval=30)


def open_store(settings: Settings) -> ObjectStore:
    """A new client of the object store, with the workers' retry policy (a forked job's own)."""
    return storage.open_store(settings, retry=patient_retry() if settings.object_store == "s3" else None)


def connect(settings: Settings) -> Cluster:
    """Build the clients (Redis, object store, index) and make sure the bucket and schema exist."""
    if settings.object_store == "s3":
        from storage.s3 import make_s3_store

        make_s3_store(settings).ensure_bucket()  # a throwaway client: no socket is shared with forked jobs
    store, index = storage.open(settings, retry=patient_retry() if settings.object_store == "s3" else None)
    index.engine.dispose()  # no pooled connection is inherited by forked job processes
    redis = redis_client(settings)
    try:
        redis.ping()
    except Exception as e:  # redis' own errors: connection refused, auth, timeout
        raise StorageError(f"cannot reach Redis (DIGITIZE_REDIS_URL): {e.__class__.__name__}: {e}") from e
    return Cluster(settings=settings, redis=redis, index=index, store=store)
