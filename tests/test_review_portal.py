"""What the portal role sees: only documents that need no review or were approved; the API says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apienv import D1, Env, doc_id_of, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def test_portal_does_not_see_a_document_pending_review(env: Env) -> None:
    pending = doc_id_of(env, "45/GPXD")
    portal = env.h("portal")
    assert env.client.get(f"/api/v1/documents/{pending}", headers=portal).status_code == 404
    assert env.client.get(f"/api/v1/documents/download/{pending}", headers=portal).status_code == 404
    dossier = env.client.get(f"/api/v1/dossiers/{D1}", headers=portal).json()
    assert [d["doc_id"] for d in dossier["documents"]] == [doc_id_of(env, "123/QĐ-UBND")]
    found = env.client.get("/api/v1/search", headers=portal, params={"q": "giay phep xay dung"}).json()
    assert pending not in [d["doc_id"] for d in found["results"]]
    # the clerk sees it, and the state it is in
    clerk = env.client.get(f"/api/v1/documents/{pending}", headers=env.h("clerk")).json()
    assert clerk["review"]["state"] == "pending"
    found = env.client.get("/api/v1/search", headers=env.h("clerk"), params={"q": "giay phep xay dung"}).json()
    assert pending in [d["doc_id"] for d in found["results"]]


def test_a_dossier_whose_documents_all_await_review_is_not_found_for_the_portal(env: Env) -> None:
    pending = doc_id_of(env, "45/GPXD")
    clean = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.put(f"/api/v1/documents/{clean}", headers=env.h("clerk"), json={"needs_review": True})
    assert r.status_code == 200 and r.json()["review"]["state"] == "pending"
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("portal")).status_code == 404
    assert env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("portal")).status_code == 404
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("clerk")).json()["document_count"] == 2
    assert pending


def test_approval_makes_the_document_visible_with_state_approved(env: Env) -> None:
    pending = doc_id_of(env, "45/GPXD")
    clean = doc_id_of(env, "123/QĐ-UBND")
    assert env.client.get(f"/api/v1/documents/{clean}", headers=env.h("portal")).json()["review"]["state"] \
        == "not_needed"
    r = env.client.put(f"/api/v1/documents/{pending}", headers=env.h("clerk"),
                       json={"issued_date": "2021-06-20", "needs_review": False})
    assert r.status_code == 200
    body = env.client.get(f"/api/v1/documents/{pending}", headers=env.h("portal")).json()
    assert body["review"]["state"] == "approved" and body["review"]["reviewed_by"] == "clerk-key"
    r = env.client.get(f"/api/v1/documents/download/{pending}", headers=env.h("portal"))
    assert r.status_code == 200 and r.content == env.pdfs[pending]
    dossier = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("portal")).json()
    assert {d["doc_id"] for d in dossier["documents"]} == {pending, clean}
