"""Object storage on any S3 server (MinIO, SeaweedFS, AWS) through the ``minio`` SDK.

This module is the only place that talks to S3. It implements the ``ObjectStore`` protocol of
``storage/objects.py`` and translates every ``minio`` / ``urllib3`` failure into the project's own
errors (``StorageError``, ``NotFoundError``, ``IntegrityError``), in the spirit of OCRmyPDF's
``_exec`` modules. Transient failures (connection refused or reset, timeouts, HTTP 5xx, ``SlowDown``)
are retried with bounded exponential backoff (``RetryPolicy``).

Every object carries the sha256 of its bytes in its user metadata (``x-amz-meta-sha256``); readers
may ask for it to be checked (``verify=True``), which raises ``IntegrityError`` on a mismatch.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from digitize.errors import ConfigError, IntegrityError, NotFoundError, StorageError
from storage.objects import CHUNK, _check_key, sha256_file

if TYPE_CHECKING:
    from minio import Minio

    from digitize.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

SHA256_META = "sha256"  # stored as the header x-amz-meta-sha256
PART_SIZE = 16 * 1024 * 1024  # multipart part size for put_file (S3 minimum is 5 MiB)

_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"}
_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "ServerBusy",
                    "OperationAborted", "XMinioServerNotInitialized"}
_AUTH_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient S3 failures are retried.

    ``attempts`` counts every try (1 = no retry). The delay before retry ``n`` (0-based) is
    ``min(max_delay, base_delay * 2**n)`` scaled by a random factor in [0.5, 1] (jitter).
    """

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return min(self.max_delay, self.base_delay * (2 ** retry)) * (0.5 + random.random() / 2)


def _is_transient(exc: BaseException) -> bool:
    """True for failures that may go away when the same request is sent again."""
    from minio.error import InvalidResponseError, S3Error, ServerError
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, S3Error):
        status = exc.response.status if exc.response is not None else 0
        return exc.code in _TRANSIENT_CODES or status >= 500
    if isinstance(exc, ServerError):
        return exc.status_code >= 500 or exc.status_code == 429
    if isinstance(exc, InvalidResponseError):
        # non-XML answers: proxies and servers still starting up (502/503) are transient
        status = int(getattr(exc, "_code", 0) or 0)
        return status >= 500 or status == 429
    return isinstance(exc, (Urllib3Error, ConnectionError, TimeoutError))


def _external_errors() -> tuple[type[BaseException], ...]:
    """What the S3 client raises (local file errors are not among them and pass through unchanged)."""
    from minio.error import MinioException
    from urllib3.exceptions import HTTPError as Urllib3Error

    return (MinioException, Urllib3Error, ConnectionError, TimeoutError)


class _Stream(io.RawIOBase):
    """A readable object body that releases its connection on close, translates read errors and,
    when asked, checks the sha256 once the end is reached."""

    def __init__(self, response: Any, key: str, expected: str | None) -> None:
        self._response = response
        self._key = key
        self._expected = expected
        self._hash = hashlib.sha256() if expected is not None else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._response.read(len(buffer))
        except _external_errors() as e:
            raise StorageError(f"reading object {self._key!r} failed: {e.__class__.__name__}: {e}") from e
        n = len(data)
        buffer[:n] = data
        if self._hash is not None:
            if n:
                self._hash.update(data)
            elif self._hash.hexdigest() != self._expected:
                raise IntegrityError(f"object {self._key!r} does not match its recorded sha256")
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


class _HashingReader(io.RawIOBase):
    """Reads a file while hashing it, so an upload can prove it sent what was hashed before."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.hash.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class S3ObjectStore:
    """The ``ObjectStore`` protocol on one bucket of an S3 server.

    The ``minio.Minio`` client is passed in (see ``make_minio_client``); nothing connects at
    construction time. ``sleep`` is injectable so tests can observe the backoff.
    """

    def __init__(self, client: Minio, bucket: str, *, retry: RetryPolicy | None = None,
                 part_size: int = PART_SIZE, sleep: Callable[[float], None] = time.sleep) -> None:
        from minio.helpers import check_bucket_name

        try:
            check_bucket_name(bucket, strict=True)
        except ValueError as e:
            raise ConfigError(f"invalid S3 bucket name {bucket!r} (DIGITIZE_S3_BUCKET): {e}") from e
        self.client = client
        self.bucket = bucket
        self.retry = retry or RetryPolicy()
        self.part_size = part_size
        self.list_page = 1000
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"S3ObjectStore(bucket={self.bucket!r})"

    # --- error translation and retries -------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T], key: str | None = None) -> T:
        """Run ``fn`` with retries on transient errors; translate what is left into our errors."""
        from minio.error import S3Error

        attempts = max(1, self.retry.attempts)
        for attempt in range(attempts):
            try:
                return fn()
            except _external_errors() as e:
                if isinstance(e, S3Error) and e.code in _NOT_FOUND:
                    thing = f"bucket {self.bucket!r}" if e.code == "NoSuchBucket" else f"object {key!r}"
                    raise NotFoundError(f"{thing} not found") from e
                if isinstance(e, S3Error) and e.code in _AUTH_CODES:
                    raise StorageError(
                        f"object storage refused {what} ({e.code}): check DIGITIZE_S3_ACCESS_KEY, "
                        f"DIGITIZE_S3_SECRET_KEY and the bucket policy") from e
                if not _is_transient(e):
                    raise StorageError(f"object storage {what} failed: {e.__class__.__name__}: {e}") from e
                if attempt + 1 >= attempts:
                    raise StorageError(
                        f"object storage {what} failed after {attempts} attempts: {e.__class__.__name__}: {e}"
                    ) from e
                delay = self.retry.delay(attempt)
                log.warning("object storage %s failed (%s), retry %d/%d in %.2fs",
                            what, e.__class__.__name__, attempt + 1, attempts - 1, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- bucket --------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (safe when several workers race to create it)."""
        from minio.error import S3Error

        def make() -> None:
            if self.client.bucket_exists(self.bucket):
                return
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as e:
                if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        self._call(f"create bucket {self.bucket!r}", make)

    # --- writes --------------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` under ``key`` (overwriting) with its sha256 in the metadata; return the sha256."""
        _check_key(key)
        digest = hashlib.sha256(data).hexdigest()

        def put() -> None:
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type,
                                   metadata={SHA256_META: digest})

        self._call(f"put {key!r}", put, key)
        return digest

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        """Upload the file at ``path`` in parts (streaming, never the whole file in memory); return its sha256.

        The sha256 is computed first (it goes into the metadata sent with the upload) and checked
        again on the bytes actually sent; a file that changed in between is an error.
        """
        _check_key(key)
        path = Path(path)
        digest = sha256_file(path)

        def put() -> None:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                reader = _HashingReader(f)
                self.client.put_object(self.bucket, key, reader, size, content_type=content_type,
                                       metadata={SHA256_META: digest}, part_size=self.part_size)
            if reader.hash.hexdigest() != digest:
                self._call(f"delete {key!r}", lambda: self.client.remove_object(self.bucket, key), key)
                raise StorageError(f"{path} changed while it was uploaded to {key!r}")

        self._call(f"put {key!r}", put, key)
        return digest

    # --- reads ---------------------------------------------------------------------------------
    def _expected(self, key: str, headers: Any) -> str:
        expected = headers.get(f"x-amz-meta-{SHA256_META}")
        if not expected:
            raise IntegrityError(f"object {key!r} has no recorded sha256")
        return str(expected)

    def get_bytes(self, key: str, verify: bool = False) -> bytes:
        """The object's bytes; with ``verify`` they are checked against the recorded sha256."""
        _check_key(key)

        def get() -> tuple[bytes, Any]:
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read(), response.headers
            finally:
                response.close()
                response.release_conn()

        data, headers = self._call(f"get {key!r}", get, key)
        if verify and hashlib.sha256(data).hexdigest() != self._expected(key, headers):
            raise IntegrityError(f"object {key!r} does not match its recorded sha256")
        return data

    def get_file(self, key: str, path: Path, verify: bool = False) -> None:
        """Download the object to ``path`` (streaming, via a temporary file renamed into place)."""
        _check_key(key)
        path = Path(path)

        def get() -> None:
            response = self.client.get_object(self.bucket, key)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            h = hashlib.sha256()
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.stream(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                if verify and h.hexdigest() != self._expected(key, response.headers):
                    raise IntegrityError(f"object {key!r} does not match its recorded sha256")
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
                response.close()
                response.release_conn()

        self._call(f"get {key!r}", get, key)

    def open(self, key: str, verify: bool = False) -> BinaryIO:
        """A readable stream of the object (caller closes it). With ``verify``, reading to the end
        raises ``IntegrityError`` when the bytes do not match the recorded sha256."""
        _check_key(key)
        response = self._call(f"get {key!r}", lambda: self.client.get_object(self.bucket, key), key)
        try:
            expected = self._expected(key, response.headers) if verify else None
        except IntegrityError:
            response.close()
            response.release_conn()
            raise
        return io.BufferedReader(_Stream(response, key, expected), CHUNK)  # type: ignore[return-value]

    def sha256_of(self, key: str) -> str | None:
        """The sha256 recorded in the object's metadata (None when it has none)."""
        _check_key(key)
        stat = self._call(f"stat {key!r}", lambda: self.client.stat_object(self.bucket, key), key)
        value = (stat.metadata or {}).get(f"x-amz-meta-{SHA256_META}")
        return str(value) if value else None

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        _check_key(key)
        try:
            self._call(f"stat {key!r}", lambda: self.client.stat_object(self.bucket, key), key)
        except NotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is already gone."""
        _check_key(key)
        try:
            self._call(f"delete {key!r}", lambda: self.client.remove_object(self.bucket, key), key)
        except NotFoundError:
            pass  # deleting what is not there is the wanted end state

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove the keys with S3's multi-object delete (up to 1,000 keys a request); keys already
        gone are no error."""
        from minio.deleteobjects import DeleteObject

        todo = [_check_key(k) for k in keys]
        for i in range(0, len(todo), 1000):
            batch = todo[i:i + 1000]

            def remove(batch: list[str] = batch) -> list[Any]:
                # the errors come back lazily: consuming them is what sends the request
                return list(self.client.remove_objects(self.bucket, [DeleteObject(k) for k in batch]))

            errors = [e for e in self._call(f"delete {len(batch)} objects", remove) if e.code != "NoSuchKey"]
            if errors:
                raise StorageError(f"cannot delete {errors[0].name!r}: {errors[0].code} {errors[0].message}")

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys that start with ``prefix``, in lexical order (paged by the server, resumed on retry)."""
        last: str | None = None
        while True:
            def page(after: str | None = last) -> list[str]:
                names = []
                it = self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True, start_after=after)
                for obj in it:
                    names.append(obj.object_name)
                    if len(names) >= self.list_page:
                        break
                return names

            names = self._call(f"list {prefix!r}", page)
            yield from names
            if len(names) < self.list_page:
                return
            last = names[-1]

    def presigned_get(self, key: str, expires: timedelta = timedelta(minutes=15)) -> str:
        """A URL that lets anyone holding it download the object until it expires."""
        _check_key(key)
        return self._call(f"presign {key!r}",
                          lambda: self.client.presigned_get_object(self.bucket, key, expires=expires), key)


def make_minio_client(endpoint: str, access_key: str, secret_key: str, *, secure: bool = False,
                      region: str = "us-east-1", connect_timeout: float = 5.0, read_timeout: float = 60.0) -> Minio:
    """A ``minio.Minio`` client with bounded timeouts and no retries of its own (``S3ObjectStore`` retries).

    ``endpoint`` is ``host:port``; an ``http://`` or ``https://`` prefix is accepted and decides ``secure``.
    """
    import urllib3
    from minio import Minio

    for scheme, is_secure in (("http://", False), ("https://", True)):
        if endpoint.startswith(scheme):
            endpoint, secure = endpoint[len(scheme):].rstrip("/"), is_secure

    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        retries=False,  # no hidden retries: S3ObjectStore retries with its own bounded policy
    )
    if not access_key or not secret_key:
        raise ConfigError("S3 credentials missing: set DIGITIZE_S3_ACCESS_KEY and DIGITIZE_S3_SECRET_KEY")
    try:
        return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                     http_client=http)
    except ValueError as e:
        raise ConfigError(f"invalid S3 endpoint {endpoint!r} (DIGITIZE_S3_ENDPOINT): {e}") from e


def make_s3_store(settings: Settings, *, retry: RetryPolicy | None = None) -> S3ObjectStore:
    """The S3 object store described by the settings (``DIGITIZE_S3_*``); does not connect."""
    client = make_minio_client(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key,
                               secure=settings.s3_secure, region=settings.s3_region)
    return S3ObjectStore(client, settings.s3_bucket, retry=retry)
