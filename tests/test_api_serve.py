"""``digitize key`` and ``digitize serve`` as an operator runs them: a real uvicorn process on a free port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from digitize.cli import main
from digitize.errors import SigningError
from storage import access
from storage.index import Index
from tests.apienv import D1, populated_archive
from tests.serve import env_for, start_digitize_serve, stop_process
from workers.localservers import free_port


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return populated_archive(tmp_path)


def test_key_command_creates_lists_and_revokes(archive: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DIGITIZE_ARCHIVE", str(archive))
    assert main(["key", "create", "portal-hcm", "--role", "portal", "--who", "ops"]) == 0
    token = capsys.readouterr().out.strip()
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    key = access.authenticate(index, token)
    assert key is not None and key.name == "portal-hcm" and key.role == "portal"
    assert main(["key", "list"]) == 0
    assert "portal-hcm" in capsys.readouterr().out and token not in capsys.readouterr().out
    assert main(["key", "create", "portal-hcm", "--role", "admin"]) != 0  # names are unique
    assert main(["key", "create", "nameless"]) != 0  # a role is required
    assert main(["key", "revoke", "portal-hcm"]) == 0
    assert access.authenticate(index, token) is None
    actions = [(a["action"], a["who"]) for a in access.audit_entries(index)]
    assert ("key_create", "ops") in actions and any(a == "key_revoke" for a, _ in actions)
    index.close()


@pytest.fixture
def served(archive: Path) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of ``digitize serve`` running on the archive."""
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    token = access.create_key(index, "ops", "admin")
    index.close()
    port = free_port()
    proc = start_digitize_serve(env_for(archive), port, subprocess.PIPE)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop_process(proc)
        if proc.stdout:
            proc.stdout.close()


def test_serve_runs_the_api_over_the_archive(served: tuple[str, str]) -> None:
    base, token = served
    assert httpx.get(f"{base}/api/v1/dossiers/{D1}", timeout=5).status_code == 401
    r = httpx.get(f"{base}/api/v1/dossiers/{D1}", headers={"X-API-Key": token}, timeout=5)
    assert r.status_code == 200 and r.json()["document_count"] == 2
    assert all(d["signed"] is False for d in r.json()["documents"])  # no certificate configured
    spec = httpx.get(f"{base}/openapi.json", timeout=5).json()
    assert "/api/v1/documents/download/{doc_id}" in spec["paths"]
    assert httpx.get(f"{base}/api/v1/dossiers/..%2F..%2Findex.sqlite", headers={"X-API-Key": token},
                     timeout=5).status_code in (400, 404)


def test_serve_refuses_to_start_with_a_broken_certificate(archive: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (archive / "bad.p12").write_bytes(b"not a certificate")
    monkeypatch.setenv("DIGITIZE_ARCHIVE", str(archive))
    monkeypatch.setenv("DIGITIZE_SIGN_PKCS12", str(archive / "bad.p12"))
    # the certificate is checked before anything is opened or served, so this returns at once
    assert main(["serve", "--port", str(free_port())]) == SigningError.exit_code
    assert "signing certificate" in capsys.readouterr().err
