"""Shared pytest set-up: the ``--runslow`` option and fixtures that start real servers.

- Tests marked ``slow`` are skipped unless ``--runslow`` is given.
- Tests that use a server fixture (``redis_server``, ``s3_server``, ``postgres_url`` and the ones built
  on them) are marked ``services`` automatically, so ``-m "not services"`` leaves them out. They run
  by default; when a server program is not installed they are skipped on a workstation but FAIL in
  CI (environment ``CI=true``), so a CI image that lost a package cannot pass silently.
- ``DIGITIZE_TEST_POSTGRES_URL`` (a SQLAlchemy URL of a role that may create databases) uses an
  existing PostgreSQL instead of starting a throwaway cluster.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workers.localservers import PostgresServer, RedisServer, S3Endpoint, SeaweedS3, ServiceUnavailable, fresh_database

SERVICE_FIXTURES = {"redis_server", "s3_server", "s3_store", "postgres_url", "postgres_db_url"}


def in_ci() -> bool:
    """True when running in continuous integration (``CI`` set to true/1/yes)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def service_missing(message: str) -> None:
    """Skip (workstation) or fail (CI) a test whose server program is not installed."""
    if in_ci():
        pytest.fail(f"{message} — required in CI (CI=true)", pytrace=False)
    pytest.skip(message)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("services"):
            item.add_marker(pytest.mark.services)
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read the English messages whatever the machine's locale (``--lang vi`` tests ask for Vietnamese),
    and whatever language the test before chose (the catalogue is process-wide, as in the command)."""
    from digitize.i18n import set_language

    monkeypatch.setenv("LANGUAGE", "en")
    set_language("en")


def _report_startup(name: str, seconds: float | None) -> None:
    sys.stderr.write(f"\n[services] {name} ready in {seconds or 0:.2f}s\n")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a private redis-server (no persistence) for the whole session."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except ServiceUnavailable as e:
        service_missing(str(e))
    with server:
        _report_startup("redis", server.startup_seconds)
        yield server.url


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """A SeaweedFS S3 server with authentication for the whole session: (endpoint, access_key, secret_key)."""
    try:
        server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    except ServiceUnavailable as e:
        service_missing(str(e))
    with server:
        _report_startup("seaweedfs", server.startup_seconds)
        yield server.endpoint


@pytest.fixture
def s3_store(s3_server: S3Endpoint):  # noqa: ANN201 - S3ObjectStore, imported lazily
    """An ``S3ObjectStore`` on a new, empty bucket of the session's S3 server."""
    from storage.s3 import RetryPolicy, S3ObjectStore

    store = S3ObjectStore(s3_server.client(), "t-" + secrets.token_hex(6),
                          retry=RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2))
    store.ensure_bucket()
    return store


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg://``) of a PostgreSQL server for the session.

    ``DIGITIZE_TEST_POSTGRES_URL`` when set; otherwise a throwaway cluster in a temp dir.
    """
    existing = os.environ.get("DIGITIZE_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    try:
        server = PostgresServer()
    except ServiceUnavailable as e:
        service_missing(str(e))
    with server:
        _report_startup("postgres (initdb)", server.init_seconds)
        _report_startup("postgres", server.startup_seconds)
        yield server.url


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database (dropped after the test)."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A test certificate authority and the agency certificate it issued, as PKCS#12 (tests/gen/certs.py)."""
    from tests.gen.certs import make_ca

    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def signer(ca):  # type: ignore[no-untyped-def]
    """The copy signer loaded from the test agency's PKCS#12."""
    from digitize.handoff import sign
    from tests.gen.certs import PASSWORD

    return sign.load_pkcs12(ca.p12, PASSWORD)



@pytest.fixture(params=["sqlite", "postgresql"])
def index_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The index on each back-end in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite'}"
    return request.getfixturevalue("postgres_db_url")


@pytest.fixture
def index(index_url: str) -> Iterator[Any]:
    """An :class:`storage.index.Index` on ``index_url``, closed after the test."""
    from storage.index import Index

    idx = Index.from_url(index_url)
    yield idx
    idx.close()


# --- distributed mode: a cluster of real workers (tests/clusterenv.py), for tests/test_distributed*.py ----


@pytest.fixture
def cluster(tmp_path: Path, redis_server: str, s3_server: S3Endpoint, postgres_db_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import redis

    from tests.clusterenv import make_cluster

    redis.Redis.from_url(redis_server).flushdb()
    yield from make_cluster(tmp_path, redis_server, s3_server, postgres_db_url)



@pytest.fixture(scope="module")
def big_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.clusterenv import make_batch

    return make_batch(tmp_path_factory.mktemp("big"), singles=4)
