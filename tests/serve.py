"""Test helpers around ``digitize serve``: start it on a port and wait until it answers, stop it.

The servers it talks to (Redis, S3, PostgreSQL) are started by :mod:`workers.localservers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO


def start_digitize_serve(env: dict[str, str], port: int, out: IO[bytes] | int,
                         cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """``digitize serve`` on 127.0.0.1:``port`` with ``env``; returns once /healthz answers 200.

    ``out`` receives the server's stdout and stderr (a file, or subprocess.PIPE). Fails the test with the
    server's last output when it exits or does not answer within 30 s."""
    import httpx
    import pytest

    proc = subprocess.Popen([sys.executable, "-m", "digitize", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            said = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"digitize serve did not come up: {said[-2000:]}")
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def env_for(archive: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``digitize serve`` over ``archive``: no DIGITIZE_* of the caller, no proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    return env | {"DIGITIZE_ARCHIVE": str(archive), "NO_PROXY": "127.0.0.1,localhost", **extra}
