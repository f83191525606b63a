"""The review station's guards, over HTTP (FastAPI's test client on https://, so Secure cookies flow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from digitize.handoff import review
from storage import access
from tests.apienv import Env, doc_id_of, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def client(env: Env) -> TestClient:
    return TestClient(env.client.app, base_url="https://testserver")


def sign_in(c: TestClient, token: str, next_path: str = "/review") -> tuple[int, str]:
    form = c.get("/review/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = c.post("/review/login", data={"key": token, "csrf": csrf, "next": next_path}, follow_redirects=False)
    return r.status_code, r.headers.get("location", r.text)


def session_csrf(c: TestClient, env: Env) -> str:
    page = c.get(f"/review/doc/{doc_id_of(env, '45/GPXD')}").text
    return re.search(r'data-csrf="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_no_session_redirects_to_sign_in_and_reads_nothing(env: Env) -> None:
    c = client(env)
    doc_id = doc_id_of(env, "45/GPXD")
    for path in ("/review", f"/review/doc/{doc_id}", f"/review/doc/{doc_id}/page/3"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/review/login?next=")
    # an API key header is no session
    r = c.get("/review", headers=env.h("clerk"), follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/review/doc/{doc_id}/approve", data={"csrf": "x"}, follow_redirects=False)
    assert r.status_code == 303 and env.index.get_document(doc_id).needs_review


def test_session_cookie_flags_and_where_sign_in_leads(env: Env) -> None:
    c = client(env)
    form = c.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    r = c.post("/review/login", data={"key": env.tokens["clerk"], "csrf": csrf, "next": "//evil.example/x"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review"  # never another site
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("digitize_review="))
    flags = {p.strip().lower() for p in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/review"} <= flags
    assert c.get("/review").status_code == 200


def test_portal_key_is_refused_with_403_and_audited(env: Env) -> None:
    c = client(env)
    status, body = sign_in(c, env.tokens["portal"])
    assert status == 403 and "không có quyền duyệt" in body
    assert c.get("/review", follow_redirects=False).status_code == 303  # no session was opened
    assert access.audit_entries(env.index, action="denied")[0]["who"] == "portal-key"
    status, body = sign_in(c, "dgz_000000000000_" + "x" * 43)
    assert status == 401 and "Khóa không đúng" in body


def test_sign_in_without_its_form_token_is_refused(env: Env) -> None:
    c = client(env)
    r = c.post("/review/login", data={"key": env.tokens["clerk"], "csrf": "forged", "next": "/review"},
               follow_redirects=False)
    assert r.status_code == 403


def test_forged_posts_without_csrf_are_403_and_change_nothing(env: Env) -> None:
    c = client(env)
    assert sign_in(c, env.tokens["clerk"])[0] == 303
    doc_id = doc_id_of(env, "45/GPXD")
    before = env.index.get_document(doc_id)
    assert c.post(f"/review/doc/{doc_id}/approve", data={"q": ""}).status_code == 403
    assert c.post(f"/review/doc/{doc_id}/approve", data={"csrf": "wrong"}).status_code == 403
    assert c.post(f"/review/doc/{doc_id}/fix", json={"field": "number", "value": "46/GPXD"}).status_code == 403
    r = c.post(f"/review/doc/{doc_id}/structure", data={"action": "assign", "code": "H26.107.01-260203-010023"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert c.post("/review/logout").status_code == 403
    assert env.index.get_document(doc_id) == before and c.get("/review").status_code == 200
    # with the token it works, and the fix is validated in Vietnamese
    csrf = session_csrf(c, env)
    r = c.post(f"/review/doc/{doc_id}/fix", json={"field": "issued_date", "value": "31/02/2021"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "không hợp lệ" in r.json()["message"]
    r = c.post(f"/review/doc/{doc_id}/fix", json={"field": "issued_date", "value": "20/06/2021"},
               headers={"X-CSRF-Token": csrf})
    assert r.json() == {"ok": True, "value": "20/06/2021"}
    assert env.index.get_document(doc_id).metadata.issued_date.value == "2021-06-20"
    assert c.post("/review/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/review", follow_redirects=False).status_code == 303


def test_ids_of_another_archive_and_pages_outside_the_document_are_404(env: Env) -> None:
    c = client(env)
    sign_in(c, env.tokens["clerk"])
    doc_id = doc_id_of(env, "45/GPXD")
    for path in ("/review/doc/0123456789abcdef-d0001", "/review/doc/..%2F..%2Findex.sqlite",
                 "/review/doc/0123456789abcdef-d0001/page/1", f"/review/doc/{doc_id}/page/99"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "Không" in r.text or "%2F" in path  # the station's page, or (a decoded "/") no route at all
    r = c.get(f"/review/doc/{doc_id}/page/{env.docs[doc_id].pages[0]}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert "private" in r.headers["cache-control"] and r.headers["etag"]
    assert c.get(f"/review/doc/{doc_id}/page/{env.docs[doc_id].pages[0]}",
                 headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_html_in_a_field_is_escaped(env: Env) -> None:
    doc_id = doc_id_of(env, "45/GPXD")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    review.fix(env.index, doc_id, "issuer", evil, review.Actor("clerk-key"))
    c = client(env)
    sign_in(c, env.tokens["clerk"])
    for path in ("/review", f"/review/doc/{doc_id}"):
        page = c.get(path)
        assert page.status_code == 200 and "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_revoking_the_key_ends_its_session(env: Env) -> None:
    c = client(env)
    sign_in(c, env.tokens["clerk"])
    assert c.get("/review").status_code == 200
    access.revoke_key(env.index, "clerk-key")
    assert c.get("/review", follow_redirects=False).status_code == 303
