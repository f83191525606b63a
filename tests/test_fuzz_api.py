"""The running API server (``digitize serve``, a real uvicorn process) under generated and hostile requests:
a schemathesis fuzz of its whole OpenAPI, and uploads that are too large, lie about their type or are cut
off mid-stream (issue 16). No 5xx, no unhandled error in the server's log, nothing half-stored."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from storage import access
from storage.index import Index
from storage.objects import LocalObjectStore
from tests.apienv import D1, populate, render_pdf
from tests.serve import env_for, start_digitize_serve, stop_process
from workers.localservers import free_port

LIMIT = 50_000  # DIGITIZE_MAX_UPLOAD_BYTES of the server under test
IMPORT = "/api/v1/documents/import"
UNHANDLED = ("Traceback", "Exception in ASGI application", "Internal Server Error")


@dataclass
class Server:
    base: str
    tokens: dict[str, str]  # role -> API key
    archive: Path
    log: Path

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.tokens[role]}

    def originals(self) -> list[str]:
        return list(LocalObjectStore(self.archive / "objects").list("originals/"))

    def unhandled(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if line.startswith(UNHANDLED)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    index = Index.from_url(f"sqlite:///{tmp_path / 'index.sqlite'}")
    populate(index, LocalObjectStore(tmp_path / "objects"))
    tokens = {role: access.create_key(index, role, role) for role in ("portal", "clerk", "admin")}
    index.close()
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = start_digitize_serve(env_for(tmp_path, DIGITIZE_MAX_UPLOAD_BYTES=str(LIMIT)), port, out)
    try:
        yield Server(f"http://127.0.0.1:{port}", tokens, tmp_path, log)
    finally:
        stop_process(proc)


def _multipart(data: bytes, *, filename: str = "scan.pdf", part_type: str = "application/pdf",
               boundary: str = "b0undary") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {part_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _raw(server: Server, head: str, body: bytes, *, close_after: int | None = None) -> bytes:
    """Send a raw HTTP/1.1 request over a socket; ``close_after``: send only that many body bytes, then
    hang up (an upload cut mid-stream). Returns what the server answered (b"" when nothing)."""
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode() + body[:close_after] if close_after is not None else head.encode() + body)
        if close_after is not None:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_uploads_over_the_limit_are_413_and_nothing_is_stored(server: Server) -> None:
    big = b"%PDF-1.4\n" + b"0" * (LIMIT + 1)
    r = httpx.post(server.base + IMPORT, headers=server.h("clerk"), files={"file": ("big.pdf", big, "application/pdf")},
                   timeout=10)
    assert r.status_code == 413 and r.json()["reason"] == "upload_too_large"
    # no Content-Length (chunked): refused once the limit is passed, the rest not read
    body, ctype = _multipart(b"%PDF-1.4\n" + b"0" * (4 * LIMIT))
    r = httpx.post(server.base + IMPORT, headers=server.h("clerk") | {"Content-Type": ctype},
                   content=iter([body[i:i + 8192] for i in range(0, len(body), 8192)]), timeout=10)
    assert r.status_code == 413
    # a Content-Length that lies (small) about a large body
    head = (f"POST {IMPORT} HTTP/1.1\r\nHost: x\r\nX-API-Key: {server.tokens['clerk']}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
    answer = _raw(server, head, body)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert server.originals() == [] and server.unhandled() == []


def test_uploads_with_a_lying_content_type_are_refused(server: Server) -> None:
    pdf = render_pdf(["Quyết định"])
    cases = [
        ({"Content-Type": "application/pdf"}, pdf, 415),  # a bare PDF body, not multipart
        ({"Content-Type": "multipart/form-data; boundary=b0undary"}, pdf, 422),  # says multipart, is not
        ({"Content-Type": "multipart/form-data"}, _multipart(pdf)[0], 422),  # no boundary
        ({"Content-Type": "application/json"}, b'{"file": "JVBERi0xLjQ="}', 415),
    ]
    for headers, body, status in cases:
        r = httpx.post(server.base + IMPORT, headers=server.h("clerk") | headers, content=body, timeout=10)
        assert r.status_code == status, (headers, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json") and r.json()["reason"]
    html, ctype = _multipart(b"<!DOCTYPE html><html><body>scan</body></html>", part_type="application/pdf")
    r = httpx.post(server.base + IMPORT, headers=server.h("clerk") | {"Content-Type": ctype}, content=html, timeout=10)
    assert r.status_code == 415 and "HTML" in r.json()["detail"]  # the part said PDF: its bytes decide
    assert server.originals() == []
    # a real PDF whose part claims to be a JPEG and whose name says .jpg is stored as what it is
    body, ctype = _multipart(pdf, filename="photo.jpg", part_type="image/jpeg")
    r = httpx.post(server.base + IMPORT, headers=server.h("clerk") | {"Content-Type": ctype}, content=body, timeout=10)
    assert r.status_code == 202, r.text
    assert [k.rsplit(".", 1)[-1] for k in server.originals()] == ["pdf"]
    assert server.unhandled() == []


def test_an_upload_cut_mid_stream_stores_nothing_and_the_server_goes_on(server: Server) -> None:
    body, ctype = _multipart(render_pdf(["Quyết định"]))
    head = (f"POST {IMPORT} HTTP/1.1\r\nHost: x\r\nX-API-Key: {server.tokens['clerk']}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    for cut in (10, len(body) // 2, len(body) - 5):
        answer = _raw(server, head, body, close_after=cut)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200]
    time.sleep(0.5)
    assert server.originals() == []
    index = Index.from_url(f"sqlite:///{server.archive / 'index.sqlite'}")
    try:
        with index.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(access.import_jobs)).scalar() == 0
    finally:
        index.close()
    r = httpx.get(f"{server.base}/api/v1/dossiers/{D1}", headers=server.h("portal"), timeout=5)
    assert r.status_code == 200  # the server is still serving
    assert server.unhandled() == []


def _fuzz(operation, mode, base: str, headers: dict[str, str], counter: list[int]):  # type: ignore[no-untyped-def]
    """A hypothesis test sending generated cases of one operation to the server at ``base``."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import checks as st_checks

    checks = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
              st_checks.response_schema_conformance]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        counter[0] += 1
        case.call_and_validate(base_url=base, headers={**(case.headers or {}), **headers}, checks=checks, timeout=30)

    return check


FUZZ_EXAMPLES = 30  # per operation, generation mode and key: the whole run stays within a few minutes


@pytest.mark.slow
def test_schemathesis_fuzz_of_the_running_server(server: Server) -> None:
    """Generated requests (valid and invalid) for every operation of /openapi.json, as admin, as portal and
    with no key: never a 5xx, every answer as documented, nothing unhandled in the server's log."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    api = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 13
    counter = [0]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for headers in (server.h("admin"), server.h("portal"), {}):
                try:
                    _fuzz(operation, mode, server.base, headers, counter)()
                except Unsatisfiable:  # no parameter or body to make invalid (GET /healthz)
                    assert mode is GenerationMode.NEGATIVE
    assert counter[0] > 200
    assert server.unhandled() == [], server.unhandled()[:5]
