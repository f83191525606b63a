"""S3ObjectStore against a real S3 server (SeaweedFS with authentication) and a fault-injecting fake.

Covers the ObjectStore protocol, multipart uploads, sha256 metadata and tamper detection, refused
credentials, presigned URLs, and bounded retries through a server outage and back.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from digitize.errors import ConfigError, IntegrityError, NotFoundError, StorageError
from storage.objects import ObjectStore
from storage.s3 import RetryPolicy, S3ObjectStore, make_minio_client, make_s3_store
from workers.localservers import S3Endpoint, SeaweedS3, ServiceUnavailable

MiB = 1024 * 1024


def test_implements_the_protocol(s3_store: S3ObjectStore) -> None:
    assert isinstance(s3_store, ObjectStore)


def test_put_get_exists_delete(s3_store: S3ObjectStore, s3_server: S3Endpoint) -> None:
    data = "Quyết định số 123/QĐ-UBND".encode()
    digest = s3_store.put_bytes("documents/ab/x.txt", data, content_type="text/plain; charset=utf-8")
    assert digest == hashlib.sha256(data).hexdigest()
    assert s3_store.get_bytes("documents/ab/x.txt") == data
    assert s3_store.get_bytes("documents/ab/x.txt", verify=True) == data
    assert s3_store.exists("documents/ab/x.txt")
    assert not s3_store.exists("documents/ab/y.txt")
    assert s3_store.sha256_of("documents/ab/x.txt") == digest
    # the digest is in the object's user metadata, where any S3 tool sees it
    stat = s3_server.client().stat_object(s3_store.bucket, "documents/ab/x.txt")
    assert stat.metadata["x-amz-meta-sha256"] == digest
    s3_store.put_bytes("documents/ab/x.txt", b"v2")  # overwrite
    assert s3_store.get_bytes("documents/ab/x.txt") == b"v2"
    s3_store.delete("documents/ab/x.txt")
    assert not s3_store.exists("documents/ab/x.txt")
    s3_store.delete("documents/ab/x.txt")  # already gone: no error
    with pytest.raises(NotFoundError):
        s3_store.get_bytes("documents/ab/x.txt")
    with pytest.raises(NotFoundError):
        s3_store.get_file("documents/ab/x.txt", Path(os.devnull))
    with pytest.raises(NotFoundError):
        s3_store.open("documents/ab/x.txt")


def test_empty_object(s3_store: S3ObjectStore) -> None:
    assert s3_store.put_bytes("e/empty", b"") == hashlib.sha256(b"").hexdigest()
    assert s3_store.get_bytes("e/empty", verify=True) == b""


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a"])
def test_bad_keys_refused(s3_store: S3ObjectStore, key: str) -> None:
    with pytest.raises(StorageError):
        s3_store.put_bytes(key, b"x")


def test_delete_many_in_one_request_keeps_the_rest(s3_store: S3ObjectStore) -> None:
    keys = [f"pages/dm/{i:04d}.json" for i in range(1, 1203)]  # more than one 1,000-key request
    for k in keys:
        s3_store.put_bytes(k, b"x")
    s3_store.put_bytes("pages/keep/1.json", b"y")
    s3_store.delete_many(keys[:-1] + ["pages/dm/missing.json"])  # a key already gone is no error
    assert list(s3_store.list("pages/")) == [keys[-1], "pages/keep/1.json"]
    s3_store.delete_many([])


def test_list_in_lexical_order_by_prefix(s3_store: S3ObjectStore) -> None:
    keys = ["pages/b/2.json", "pages/a/10.json", "pages/a/2.json", "originals/ff/ff.pdf", "pages/a/1.json"]
    for k in keys:
        s3_store.put_bytes(k, k.encode())
    assert list(s3_store.list("pages/a/")) == ["pages/a/1.json", "pages/a/10.json", "pages/a/2.json"]
    assert list(s3_store.list()) == sorted(keys)
    assert list(s3_store.list("nothing/")) == []
    s3_store.list_page = 2  # paging resumes after the last key of each page
    assert list(s3_store.list()) == sorted(keys)
    assert list(s3_store.list("pages/")) == sorted(k for k in keys if k.startswith("pages/"))


def test_large_file_multipart_streaming(s3_store: S3ObjectStore, s3_server: S3Endpoint, tmp_path: Path) -> None:
    src = tmp_path / "big.tif"
    block = os.urandom(MiB)
    with open(src, "wb") as f:
        for i in range(12):
            f.write(bytes([i]) + block[1:])
        f.write(b"tail")
    expected = hashlib.sha256(src.read_bytes()).hexdigest()
    s3_store.part_size = 5 * MiB
    assert s3_store.put_file("originals/big.tif", src, content_type="image/tiff") == expected
    stat = s3_server.client().stat_object(s3_store.bucket, "originals/big.tif")
    assert stat.size == src.stat().st_size
    assert stat.etag.endswith("-3")  # 12 MiB + 4 bytes in 5 MiB parts: a 3-part multipart upload
    out = tmp_path / "out.tif"
    s3_store.get_file("originals/big.tif", out, verify=True)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    with s3_store.open("originals/big.tif", verify=True) as stream:
        h = hashlib.sha256()
        for chunk in iter(lambda: stream.read(300_000), b""):
            h.update(chunk)
    assert h.hexdigest() == expected


def test_tampered_object_detected(s3_store: S3ObjectStore, s3_server: S3Endpoint, tmp_path: Path) -> None:
    original = b"%PDF-1.7 original scan"
    digest = s3_store.put_bytes("originals/aa/doc.pdf", original)
    # someone overwrites the bytes with another client but leaves the old digest in the metadata
    forged = b"%PDF-1.7 forged scan!!"
    s3_server.client().put_object(s3_store.bucket, "originals/aa/doc.pdf", io.BytesIO(forged), len(forged),
                                  metadata={"sha256": digest})
    with pytest.raises(IntegrityError):
        s3_store.get_bytes("originals/aa/doc.pdf", verify=True)
    target = tmp_path / "doc.pdf"
    with pytest.raises(IntegrityError):
        s3_store.get_file("originals/aa/doc.pdf", target, verify=True)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no partial download left behind
    with pytest.raises(IntegrityError), s3_store.open("originals/aa/doc.pdf", verify=True) as stream:
        stream.read()
    assert s3_store.get_bytes("originals/aa/doc.pdf") == forged  # without verify the bytes are returned
    # an object without a recorded digest cannot be verified
    s3_server.client().put_object(s3_store.bucket, "originals/aa/nometa.pdf", io.BytesIO(original), len(original))
    assert s3_store.sha256_of("originals/aa/nometa.pdf") is None
    with pytest.raises(IntegrityError, match="no recorded sha256"):
        s3_store.get_bytes("originals/aa/nometa.pdf", verify=True)


def test_wrong_credentials_refused(s3_store: S3ObjectStore, s3_server: S3Endpoint) -> None:
    s3_store.put_bytes("secret/x", b"private")
    sleeps: list[float] = []
    for access, secret in [(s3_server.access_key, "wrong-secret-key"), ("nobody-key", s3_server.secret_key)]:
        bad = S3ObjectStore(s3_server.client(access_key=access, secret_key=secret), s3_store.bucket,
                            sleep=sleeps.append)
        with pytest.raises(StorageError, match="DIGITIZE_S3_SECRET_KEY"):
            bad.get_bytes("secret/x")
        with pytest.raises(StorageError):
            bad.put_bytes("secret/y", b"intruder")
    assert sleeps == []  # refusals are final, not retried
    assert not s3_store.exists("secret/y")
    # anonymous requests are refused too
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{s3_server.endpoint}/{s3_store.bucket}/secret/x", timeout=10)
    assert e.value.code == 403


def test_presigned_get(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("documents/p.pdf", b"%PDF presigned")
    url = s3_store.presigned_get("documents/p.pdf", timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"%PDF presigned"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10)
    assert e.value.code == 403


def test_ensure_bucket_idempotent(s3_server: S3Endpoint) -> None:
    store = S3ObjectStore(s3_server.client(), "t-ensure-bucket")
    store.ensure_bucket()
    store.ensure_bucket()
    assert store.client.bucket_exists("t-ensure-bucket")
    missing = S3ObjectStore(s3_server.client(), "t-never-created")
    with pytest.raises(NotFoundError, match="bucket"):
        missing.put_bytes("a", b"x")


def test_make_s3_store_from_settings(s3_server: S3Endpoint) -> None:
    from digitize.config import Settings

    settings = Settings(object_store="s3", s3_endpoint=s3_server.endpoint, s3_access_key=s3_server.access_key,
                        s3_secret_key=s3_server.secret_key, s3_bucket="t-from-settings", s3_secure=False)
    store = make_s3_store(settings)
    store.ensure_bucket()
    store.put_bytes("k", b"v")
    assert store.get_bytes("k", verify=True) == b"v"
    with pytest.raises(ConfigError, match="credentials"):
        make_s3_store(Settings(object_store="s3", s3_access_key="", s3_secret_key=""))
    with pytest.raises(ConfigError, match="DIGITIZE_S3_BUCKET"):
        make_s3_store(settings.model_copy(update={"s3_bucket": "Bad_Bucket"}))
    with pytest.raises(ConfigError, match="DIGITIZE_S3_ENDPOINT"):
        make_s3_store(settings.model_copy(update={"s3_endpoint": "minio:9000/path"}))
    # a URL-style endpoint works too
    via_url = make_s3_store(settings.model_copy(update={"s3_endpoint": f"http://{s3_server.endpoint}/"}))
    assert via_url.get_bytes("k") == b"v"


# --- outages: a private server that the test stops and starts -------------------------------------


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    from tests.conftest import service_missing

    try:
        server = SeaweedS3(tmp_path / "seaweedfs")
    except ServiceUnavailable as e:
        service_missing(str(e))
    with server:
        yield server


@pytest.mark.services
def test_outage_bounded_retries_then_recovery(own_s3: SeaweedS3) -> None:
    sleeps: list[float] = []
    store = S3ObjectStore(own_s3.endpoint.client(), "outage",
                          retry=RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.1), sleep=sleeps.append)
    store.ensure_bucket()
    store.put_bytes("before/outage", b"kept")
    own_s3.stop()
    t0 = time.monotonic()
    with pytest.raises(StorageError, match="after 4 attempts") as e:
        store.put_bytes("during/outage", b"x")
    assert time.monotonic() - t0 < 10
    assert len(sleeps) == 3 and all(0 < s <= 0.1 for s in sleeps)
    assert not isinstance(e.value, NotFoundError)
    for call in (lambda: store.get_bytes("before/outage"), lambda: store.exists("before/outage"),
                 lambda: list(store.list()), lambda: store.delete("before/outage")):
        with pytest.raises(StorageError):
            call()
    own_s3.start()  # same ports, same data: the same client works again
    assert store.get_bytes("before/outage", verify=True) == b"kept"
    store.put_bytes("after/outage", b"y")
    assert list(store.list()) == ["after/outage", "before/outage"]


@pytest.mark.services
def test_retries_ride_out_a_short_outage(own_s3: SeaweedS3, tmp_path: Path) -> None:
    store = S3ObjectStore(own_s3.endpoint.client(), "short-outage",
                          retry=RetryPolicy(attempts=40, base_delay=0.1, max_delay=0.5))
    store.ensure_bucket()
    own_s3.kill()  # a crash this time
    restarter = threading.Timer(1.0, own_s3.start)
    restarter.start()
    try:
        src = tmp_path / "scan.pdf"
        src.write_bytes(b"%PDF page" * 1000)
        t0 = time.monotonic()
        digest = store.put_file("originals/scan.pdf", src)  # keeps retrying until the server is back
        assert time.monotonic() - t0 >= 1.0
    finally:
        restarter.join()
    assert store.get_bytes("originals/scan.pdf", verify=True) == src.read_bytes()
    assert digest == hashlib.sha256(src.read_bytes()).hexdigest()


# --- transient S3 errors from a fault-injecting fake server --------------------------------------


class _FlakyS3(http.server.BaseHTTPRequestHandler):
    """Answers GET with an S3 error for the first ``failures`` requests, then with the object."""

    failures = 0
    status = 503
    code = "SlowDown"
    body = b"payload"
    seen = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        cls = type(self)
        cls.seen += 1
        if cls.seen <= cls.failures:
            xml = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{cls.code}</Code>"
                   f"<Message>injected</Message><Resource>{self.path}</Resource></Error>").encode()
            self.send_response(cls.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            self.wfile.write(xml)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(cls.body)))
        self.send_header("x-amz-meta-sha256", hashlib.sha256(cls.body).hexdigest())
        self.end_headers()
        self.wfile.write(cls.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[type[_FlakyS3], S3ObjectStore, list[float]]]:
    handler = type("Flaky", (_FlakyS3,), {"seen": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sleeps: list[float] = []
    client = make_minio_client(f"127.0.0.1:{server.server_address[1]}", "k", "s", connect_timeout=2, read_timeout=5)
    store = S3ObjectStore(client, "bucket", retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02),
                          sleep=sleeps.append)
    try:
        yield handler, store, sleeps
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError"), (503, "ServiceUnavailable")])
def test_transient_s3_errors_are_retried(flaky, status: int, code: str) -> None:  # noqa: ANN001
    handler, store, sleeps = flaky
    handler.failures, handler.status, handler.code = 2, status, code
    assert store.get_bytes("k", verify=True) == b"payload"
    assert handler.seen == 3 and len(sleeps) == 2


def test_persistent_slowdown_gives_up(flaky) -> None:  # noqa: ANN001
    handler, store, sleeps = flaky
    handler.failures, handler.status, handler.code = 100, 503, "SlowDown"
    with pytest.raises(StorageError, match="SlowDown"):
        store.get_bytes("k")
    assert handler.seen == 4 and len(sleeps) == 3


def test_client_errors_are_not_retried(flaky) -> None:  # noqa: ANN001
    handler, store, sleeps = flaky
    handler.failures, handler.status, handler.code = 100, 400, "InvalidArgument"
    with pytest.raises(StorageError, match="InvalidArgument"):
        store.get_bytes("k")
    assert handler.seen == 1 and sleeps == []


def test_retry_policy_delays_are_bounded() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.2, max_delay=1.0)
    for n in range(10):
        d = policy.delay(n)
        assert 0.5 * min(1.0, 0.2 * 2**n) <= d <= min(1.0, 0.2 * 2**n)
