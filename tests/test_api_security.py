"""Access control and hardening of the portal API, and a schemathesis run against its OpenAPI spec."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks

from storage import access
from tests.apienv import D1, Env, doc_id_of, make_env, render_pdf

READ = "portal"
# (method, path template, permission it needs)
ROUTES = [
    ("GET", f"/api/v1/dossiers/{D1}", "read"),
    ("GET", f"/api/v1/dossiers/{D1}/package", "download"),
    ("GET", "/api/v1/documents/{doc}", "read"),
    ("PUT", "/api/v1/documents/{doc}", "review"),
    ("GET", "/api/v1/documents/download/{doc}", "download"),
    ("POST", "/api/v1/documents/import", "import"),
    ("GET", "/api/v1/jobs/import-0123", "read"),
    ("GET", "/api/v1/search?q=quyet", "read"),
    ("GET", "/metrics", "read"),
    ("GET", "/api/v1/keys", "admin"),
    ("POST", "/api/v1/keys", "admin"),
    ("DELETE", "/api/v1/keys/nobody", "admin"),
    ("GET", "/api/v1/audit", "admin"),
]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, max_upload_bytes=20_000)


def call(env: Env, method: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = path.format(doc=doc_id_of(env, "123/QĐ-UBND"))
    kwargs: dict = {}
    if method == "PUT":
        kwargs["json"] = {"needs_review": False}
    elif method == "POST" and path.endswith("/import"):
        kwargs["files"] = {"file": ("a.pdf", render_pdf(["x"]), "application/pdf")}
    elif method == "POST":
        kwargs["json"] = {"name": "new-key", "role": "portal"}
    return env.client.request(method, path, headers=headers or {}, **kwargs)


# --- authentication and roles --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_every_route_needs_a_key(env: Env, method: str, path: str, permission: str) -> None:
    for headers in ({}, {"X-API-Key": "dgz_0123456789ab_" + "x" * 43}, {"X-API-Key": "nonsense"},
                    {"Authorization": "Bearer " + env.tokens["admin"][:-2]}, {"Authorization": env.tokens["admin"]}):
        r = call(env, method, path, headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["reason"] == "unauthorized" and "www-authenticate" in r.headers
    assert access.audit_entries(env.index, action="download") == []


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_roles_grant_exactly_their_permissions(env: Env, method: str, path: str, permission: str) -> None:
    for role in access.ROLES:
        r = call(env, method, path, env.h(role))
        allowed = permission in access.GRANTS[role]
        if allowed:
            assert r.status_code not in (401, 403), (role, r.text)
        else:
            assert r.status_code == 403 and r.json()["reason"] == "forbidden", (role, r.text)
            denied = access.audit_entries(env.index, action="denied")[0]
            assert denied["who"] == f"{role}-key" and denied["status"] == 403


def test_portal_cannot_change_or_import_but_reads_and_downloads(env: Env) -> None:
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    assert env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal")).status_code == 200
    r = env.client.put(f"/api/v1/documents/{doc_id}", headers=env.h("portal"), json={"number": "1/QĐ"})
    assert r.status_code == 403
    assert env.index.get_document(doc_id).metadata.number.value == "123/QĐ-UBND"
    assert env.index.history_of(doc_id) == []


def test_bearer_and_header_keys_both_work_and_revocation_is_immediate(env: Env) -> None:
    token = access.create_key(env.index, "temp", "portal")
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers={"X-API-Key": token}).status_code == 200
    access.revoke_key(env.index, "temp")
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers={"X-API-Key": token}).status_code == 401


def test_keys_are_stored_hashed(env: Env) -> None:
    import sqlite3

    # every committed row into the database file first (a full checkpoint), then the file and what is
    # left in the write-ahead log are read as bytes: the secrets must be nowhere, their hashes there
    db = env.settings.archive / "index.sqlite"
    env.index.engine.dispose()  # no pooled connection of the app holds the log open meanwhile
    with sqlite3.connect(db) as conn:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    assert busy == 0
    wal = env.settings.archive / "index.sqlite-wal"
    raw = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for token in env.tokens.values():
        secret = token.split("_", 2)[2].encode()  # "dgz_<key id>_<secret>"; the secret may hold "_" too
        assert secret not in raw
        assert hashlib.sha256(token.encode()).hexdigest().encode() in raw


def test_health_is_the_only_anonymous_route(env: Env) -> None:
    app = env.client.app
    public = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    for route in app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if path in public:
            continue
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            concrete = path.replace("{code}", D1).replace("{doc_id}", "0123456789abcdef-d0001") \
                .replace("{job_id}", "j1").replace("{name}", "n1")
            assert env.client.request(method, concrete).status_code == 401, (method, path)


# --- path traversal, malformed input -------------------------------------------------------------


TRAVERSALS = [
    "..", "..%2F..%2Findex.sqlite", "%2e%2e%2f%2e%2e%2findex.sqlite", "..%5C..%5Cindex.sqlite",
    "000.00.13.H56-210615-0001%2F..%2F..", "a%00b", "index.sqlite", ".hidden", "x..y", "ABC%20DEF",
]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_path_traversal_in_codes_and_ids_never_reads_files(env: Env, bad: str) -> None:
    secret = b"TOP-SECRET-CONTENT"
    (env.settings.archive / "secret.txt").write_bytes(secret)
    for template in ("/api/v1/dossiers/{}", "/api/v1/dossiers/{}/package", "/api/v1/documents/{}",
                     "/api/v1/documents/download/{}", "/api/v1/jobs/{}"):
        r = env.client.get(template.format(bad), headers=env.h("admin"))
        assert r.status_code in (400, 404), (template, bad, r.status_code)
        assert secret not in r.content and b"SQLite format" not in r.content
    assert access.audit_entries(env.index, action="download") == []
    assert access.audit_entries(env.index, action="package") == []


def test_document_id_shape_is_checked(env: Env) -> None:
    for bad in ("ABC", "a.b", "a_b", "x" * 65):
        r = env.client.get(f"/api/v1/documents/{bad}", headers=env.h("portal"))
        assert r.status_code == 400 and r.json()["reason"] == "invalid_id", bad


def test_malformed_queries_are_422_and_unknown_routes_404(env: Env) -> None:
    h = env.h("portal")
    for params in ({"limit": "abc"}, {"limit": 0}, {"limit": 101}, {"offset": -1}, {"from": "15/06/2021"},
                   {"to": "2021-13-01"}, {"q": "x" * 201}):
        assert env.client.get("/api/v1/search", headers=h, params=params).status_code == 422, params
    assert env.client.get("/api/v1/nothing-here", headers=h).status_code == 404
    assert env.client.get("/etc/passwd").status_code == 404
    assert env.client.post(f"/api/v1/dossiers/{D1}", headers=h).status_code == 405
    r = env.client.put(f"/api/v1/documents/{doc_id_of(env, '45/GPXD')}", headers=env.h("clerk"),
                       content=b"{not json", )
    assert r.status_code == 422


# --- uploads -------------------------------------------------------------------------------------


def test_oversized_upload_is_413_and_nothing_is_stored(env: Env) -> None:
    big = b"%PDF-1.4\n" + b"0" * 200_000
    r = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                        files={"file": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 413 and r.json()["reason"] == "upload_too_large"
    assert list(env.store.list("originals/")) == []


def test_oversized_chunked_upload_without_length_is_413(env: Env) -> None:
    boundary = "XyZ"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(40):
            yield b"0" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    r = env.client.post("/api/v1/documents/import", content=body(),
                        headers=env.h("clerk") | {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert list(env.store.list("originals/")) == []


def test_upload_limit_is_inclusive(env: Env) -> None:
    exact = b"%PDF-1.4\n" + b"0" * (20_000 - 9)
    r = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                        files={"file": ("ok.pdf", exact, "application/pdf")})
    assert r.status_code == 202, r.text


def test_wrong_content_types_are_415(env: Env) -> None:
    h = env.h("clerk")
    r = env.client.post("/api/v1/documents/import", headers=h, json={"file": "JVBERi0="})
    assert r.status_code == 415 and r.json()["reason"] == "unsupported_type"
    r = env.client.post("/api/v1/documents/import", headers=h | {"Content-Type": "application/pdf"},
                        content=render_pdf(["x"]))
    assert r.status_code == 415
    r = env.client.post("/api/v1/documents/import", headers=h,
                        files={"file": ("notes.pdf", b"just some text pretending", "application/pdf")})
    assert r.status_code == 415
    r = env.client.post("/api/v1/documents/import", headers=h,
                        files={"file": ("page.html", b"<html><script>alert(1)</script>", "text/html")})
    assert r.status_code == 415
    assert list(env.store.list("originals/")) == []


def test_upload_without_file_field_or_empty_is_422(env: Env) -> None:
    h = env.h("clerk")
    r = env.client.post("/api/v1/documents/import", headers=h, data={"other": "x"},
                        files={"attachment": ("a.pdf", render_pdf(["x"]), "application/pdf")})
    assert r.status_code == 422
    r = env.client.post("/api/v1/documents/import", headers=h, files={"file": ("empty.pdf", b"", "application/pdf")})
    assert r.status_code == 422 and r.json()["reason"] == "empty_file"


# --- schemathesis --------------------------------------------------------------------------------


CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_schema_conformance, st_checks.response_headers_conformance]


def conformance_test(operation, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A hypothesis test sending generated cases of one operation with ``headers``."""

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


def test_openapi_conformance(tmp_path: Path) -> None:
    """Generated requests for every operation (as admin, so every route is reached, and anonymously):
    no 5xx, every status, content type, header and body as /openapi.json documents it."""
    env = make_env(tmp_path, max_upload_bytes=50_000)
    api = schemathesis.openapi.from_asgi("/openapi.json", env.client.app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        for headers in (env.h("admin"), {}):
            conformance_test(operation, headers)()
