"""The portal API over a temporary SQLite index and a local object store: every route and its data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitize.api.app import create_app
from digitize.errors import IntegrityError, StorageError
from digitize.models import Field, Metadata
from storage import access, layout
from storage.objects import LocalObjectStore
from tests.apienv import D1, D2, Env, doc_id_of, make_env, render_pdf


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


# --- dossiers and documents ----------------------------------------------------------------------


def test_dossier_lists_documents_with_metadata_status_and_review(env: Env) -> None:
    r = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("clerk"))  # the portal sees no pending review
    assert r.status_code == 200
    body = r.json()
    assert body["dossier_code"] == D1
    assert body["document_count"] == 2 and body["needs_review_count"] == 1 and body["status"] == "needs_review"
    by_number = {d["metadata"]["number"]: d for d in body["documents"]}
    qd = by_number["123/QĐ-UBND"]
    assert qd["status"] == "ready" and qd["review"]["needs_review"] is False
    assert qd["metadata"]["issuer"] == "Ủy ban nhân dân huyện Kiến Xương"
    assert qd["official"]["TypeName"] == "Quyết định"
    assert qd["official"]["CodeNumber"] == "123" and qd["official"]["CodeNotation"] == "QĐ-UBND"
    assert qd["official"]["IssuedDate"] == "2021-06-15" and qd["official"]["PageAmount"] == 2
    assert qd["official"]["FullName"] == "Nguyễn Văn A" and qd["official"]["Position"] == "Chủ tịch"
    assert qd["official"]["DossierCode"] == D1
    assert qd["download_path"] == f"/api/v1/documents/download/{qd['doc_id']}"
    gp = by_number["45/GPXD"]
    assert gp["status"] == "needs_review" and gp["review"]["reasons"] == ["issued_date: unreadable"]
    other = env.client.get(f"/api/v1/dossiers/{D2}", headers=env.h("portal")).json()
    assert {d["status"] for d in other["documents"]} == {"ready", "no_pdf"}
    assert other["status"] == "ready"


def test_unknown_dossier_is_404_and_malformed_code_400(env: Env) -> None:
    assert env.client.get("/api/v1/dossiers/000.00.13.H56-210615-9999", headers=env.h("portal")).status_code == 404
    r = env.client.get("/api/v1/dossiers/abc_def", headers=env.h("portal"))
    assert r.status_code == 400 and r.json()["reason"] == "invalid_dossier_code"


def test_document_detail_has_fields_text_and_history(env: Env) -> None:
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.get(f"/api/v1/documents/{doc_id}", headers=env.h("portal"))
    assert r.status_code == 200
    body = r.json()
    assert body["doc_id"] == doc_id and body["text"].startswith("QUYẾT ĐỊNH")
    assert body["fields"]["number"] == {"value": "123/QĐ-UBND", "confidence": 0.8, "reason": None}
    assert body["history"] == []
    assert env.client.get("/api/v1/documents/0123456789abcdef-d0009", headers=env.h("portal")).status_code == 404


def test_review_put_corrects_metadata_keeps_history_and_audits(env: Env) -> None:
    doc_id = doc_id_of(env, "45/GPXD")
    r = env.client.put(f"/api/v1/documents/{doc_id}", headers=env.h("clerk"),
                       json={"issued_date": "2021-06-20", "summary": "Giấy phép xây dựng nhà ở riêng lẻ",
                             "needs_review": False, "note": "checked against the paper file"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metadata"]["issued_date"] == "2021-06-20"
    assert body["fields"]["issued_date"]["confidence"] == 1.0
    assert body["review"]["needs_review"] is False and body["review"]["reasons"] == []
    assert body["review"]["reviewed_by"] == "clerk-key"
    assert body["status"] == "ready"
    stored = env.index.get_document(doc_id)
    assert stored.metadata.issued_date.value == "2021-06-20" and not stored.needs_review
    assert stored.metadata.number.value == "45/GPXD"  # untouched
    hist = env.index.history_of(doc_id)
    assert len(hist) == 1 and hist[0]["who"] == "clerk-key" and hist[0]["action"] == "review"
    assert hist[0]["detail"]["changes"]["issued_date"] == [None, "2021-06-20"]
    assert hist[0]["detail"]["note"] == "checked against the paper file"
    assert body["history"][0]["detail"]["changes"]["needs_review"] == [True, False]
    rows = access.audit_entries(env.index, action="review")
    assert rows[0]["who"] == "clerk-key" and rows[0]["target"] == doc_id and rows[0]["ip"] == "testclient"
    dossier = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("portal")).json()
    assert dossier["status"] == "ready" and dossier["needs_review_count"] == 0
    reviewed = next(d for d in dossier["documents"] if d["doc_id"] == doc_id)
    assert reviewed["review"]["reviewed_by"] == "clerk-key" and reviewed["review"]["reviewed_at"]


def test_review_moves_document_to_another_dossier_and_rejects_bad_values(env: Env) -> None:
    doc_id = doc_id_of(env, "12/TLKS")
    r = env.client.put(f"/api/v1/documents/{doc_id}", headers=env.h("clerk"), json={"dossier_code": D2})
    assert r.status_code == 200 and r.json()["dossier_code"] == D2 and r.json()["dossier_source"] == "manual"
    ids = {d["doc_id"] for d in env.client.get(f"/api/v1/dossiers/{D2}", headers=env.h("portal")).json()["documents"]}
    assert doc_id in ids
    for bad in ({"dossier_code": "../../etc"}, {"issued_date": "2021-02-30"}, {"issued_date": "15/06/2021"},
                {"unknown_field": 1}, {"needs_review": "maybe"}):
        assert env.client.put(f"/api/v1/documents/{doc_id}", headers=env.h("clerk"), json=bad).status_code == 422
    assert env.index.get_document(doc_id).dossier_id == D2


# --- downloads and packages ----------------------------------------------------------------------


def test_download_streams_the_pdf_and_audits(env: Env) -> None:
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == env.pdfs[doc_id] and r.content.startswith(b"%PDF")
    assert r.headers["etag"] == f'"{hashlib.sha256(r.content).hexdigest()}"'
    rows = access.audit_entries(env.index, action="download")
    assert [(a["who"], a["target"], a["status"]) for a in rows] == [("portal-key", doc_id, 200)]
    no_pdf = doc_id_of(env, "8/QĐ-UBND")
    assert env.client.get(f"/api/v1/documents/download/{no_pdf}", headers=env.h("portal")).status_code == 404


def test_download_with_corrupted_object_fails_loudly(env: Env) -> None:
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    env.store.put_bytes(env.docs[doc_id].pdf_key or "", b"%PDF-1.4 tampered")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert r.status_code == 503 and r.json()["reason"] == IntegrityError.reason
    r = env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("portal"))
    assert r.status_code == 503 and r.json()["reason"] == IntegrityError.reason
    env.store.delete(env.docs[doc_id].pdf_key or "")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert r.status_code == 503 and r.json()["reason"] == "storage"
    assert access.audit_entries(env.index, action="download") == []


class PresigningStore(LocalObjectStore):
    """A local store that, like the S3 one, hands out presigned URLs."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[tuple[str, Any]] = []

    def presigned_get(self, key: str, expires: Any) -> str:
        self.calls.append((key, expires))
        return f"https://objects.example/{key}?X-Amz-Expires={int(expires.total_seconds())}&sig=abc"


def test_download_redirects_to_presigned_url_when_store_offers_one(tmp_path: Path) -> None:
    store = PresigningStore(tmp_path / "objects")
    env = make_env(tmp_path, store=store)
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"), follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].startswith(f"https://objects.example/documents/{doc_id}/document.pdf")
    key, expires = store.calls[0]
    assert key == env.docs[doc_id].pdf_key and 0 < expires.total_seconds() <= 900
    rows = access.audit_entries(env.index, action="download")
    assert rows[0]["status"] == 307 and rows[0]["detail"]["presigned"] is True


def test_package_zip_has_pdfs_metadata_and_correct_sha256sums(env: Env) -> None:
    r = env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("clerk"))  # clerk: with the pending one
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.testzip() is None
    names = zf.namelist()
    pdf_names = [n for n in names if n.endswith(".pdf")]
    assert len(pdf_names) == 2 and "metadata.json" in names and "SHA256SUMS" in names
    sums = dict(reversed(line.split("  ", 1)) for line in zf.read("SHA256SUMS").decode().splitlines())
    assert set(sums) == {*pdf_names, "metadata.json"}
    for name, digest in sums.items():
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    md = json.loads(zf.read("metadata.json"))
    assert md["DossierCode"] == D1 and md["DocumentCount"] == 2
    for rec in md["Documents"]:
        assert {"TypeName", "CodeNumber", "CodeNotation", "IssuedDate", "OrganName", "Subject", "PageAmount",
                "Position", "FullName", "DossierCode"} <= set(rec)
        assert zf.read(rec["FileName"]) == env.pdfs[rec["DocId"]]
        assert rec["Sha256"] == sums[rec["FileName"]]
    qd = next(rec for rec in md["Documents"] if rec["CodeNumber"] == "123")
    assert qd["OrganName"] == "Ủy ban nhân dân huyện Kiến Xương" and qd["Subject"] == "Về việc cấp phép xây dựng nhà ở"
    assert access.audit_entries(env.index, action="package")[0]["target"] == D1


def test_package_lists_documents_without_pdf_in_metadata_only(env: Env) -> None:
    zf = zipfile.ZipFile(io.BytesIO(env.client.get(f"/api/v1/dossiers/{D2}/package", headers=env.h("portal")).content))
    md = json.loads(zf.read("metadata.json"))
    assert sorted(rec["FileName"] is None for rec in md["Documents"]) == [False, True]
    assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 1


# --- import and jobs -----------------------------------------------------------------------------


def test_import_stores_original_queues_file_and_reports_job(env: Env) -> None:
    scan = render_pdf(["Quyết định số 99/QĐ-UBND"])
    r = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                        files={"file": ("../../hộp 1/scan 01.pdf", scan, "application/pdf")})
    assert r.status_code == 202, r.text
    body = r.json()
    sha = hashlib.sha256(scan).hexdigest()
    assert body["sha256"] == sha and body["status"] == "queued" and body["duplicate"] is False
    assert body["filename"] == "scan 01.pdf" and body["size"] == len(scan)
    assert env.store.get_bytes(layout.original_key(sha, "pdf")) == scan
    row = env.index.get_file(sha)
    assert row is not None and row["status"] == "queued" and row["original_key"] == layout.original_key(sha, "pdf")
    job = env.client.get(f"/api/v1/jobs/{body['job_id']}", headers=env.h("portal")).json()
    assert job["sha256"] == sha and job["status"] == "queued" and job["created_by"] == "clerk-key"
    assert job["documents"] == []
    again = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                            files={"file": ("copy.pdf", scan, "application/pdf")}).json()
    assert again["duplicate"] is True and again["sha256"] == sha and again["job_id"] != body["job_id"]
    entries = access.audit_entries(env.index, action="import")
    assert {e["target"] for e in entries} == {sha} and len(entries) == 2


def test_import_follows_the_rule_for_a_file_submitted_again(tmp_path: Path) -> None:
    """In progress or done = a duplicate (not queued again); failed = stored and queued again."""
    calls: list[str] = []
    env = make_env(tmp_path, on_import=lambda sha, name: calls.append(sha) or "")
    scan = render_pdf(["Quyết định số 98/QĐ-UBND"])
    sha = hashlib.sha256(scan).hexdigest()

    def upload() -> dict[str, Any]:
        r = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                            files={"file": ("scan.pdf", scan, "application/pdf")})
        assert r.status_code == 202, r.text
        return r.json()

    assert upload()["duplicate"] is False and calls == [sha]
    record = json.loads(env.store.get_bytes(layout.file_record_key(sha)))  # reindex can rebuild it
    assert record["status"] == "queued" and record["original_key"] == layout.original_key(sha, "pdf")
    env.index.upsert_file(sha, source="scan.pdf", size=len(scan), kind="pdf", page_count=1, status="processing")
    assert (upload()["duplicate"], upload()["status"], len(calls)) == (True, "processing", 1)
    env.index.finish_file(sha, status="failed", pages_done=0, pages_failed=1, pages_blank=0, reason="x", message="x")
    again = upload()
    assert again["duplicate"] is False and again["status"] == "queued" and calls == [sha, sha]
    env.index.finish_file(sha, status="done", pages_done=1, pages_failed=0, pages_blank=0)
    assert (upload()["duplicate"], upload()["status"], len(calls)) == (True, "done", 2)


def test_import_calls_on_import_and_job_follows_the_file(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    def on_import(sha: str, filename: str) -> str:
        calls.append((sha, filename))
        return f"rq-{sha[:12]}"

    env = make_env(tmp_path, on_import=on_import)
    png = io.BytesIO()
    Image.new("L", (50, 40), 255).save(png, format="PNG")
    r = env.client.post("/api/v1/documents/import", headers=env.h("admin"),
                        files={"file": ("page.png", png.getvalue(), "image/png")})
    assert r.status_code == 202
    sha = hashlib.sha256(png.getvalue()).hexdigest()
    assert calls == [(sha, "page.png")] and r.json()["job_id"] == f"rq-{sha[:12]}"
    assert env.store.exists(layout.original_key(sha, "png"))
    env.index.finish_file(sha, status="done", pages_done=1, pages_failed=0, pages_blank=0)
    job = env.client.get(f"/api/v1/jobs/rq-{sha[:12]}", headers=env.h("clerk")).json()
    assert job["status"] == "done" and job["pages_done"] == 1
    assert env.client.get("/api/v1/jobs/rq-doesnotexist", headers=env.h("clerk")).status_code == 404


# --- search --------------------------------------------------------------------------------------


def search(env: Env, **params: Any) -> dict[str, Any]:
    r = env.client.get("/api/v1/search", headers=env.h("portal"), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def numbers(result: dict[str, Any]) -> list[str]:
    return [d["metadata"]["number"] for d in result["results"]]


def test_search_without_diacritics_finds_vietnamese_text(env: Env) -> None:
    found = numbers(search(env, q="quyet dinh cap phep"))
    assert set(found) == {"123/QĐ-UBND", "7/QĐ-UBND", "8/QĐ-UBND"}
    assert found[0] == "7/QĐ-UBND"  # its text literally is "quyet dinh cap phep": the exact match
    assert numbers(search(env, q="trich luc khai sinh")) == ["12/TLKS"]
    assert search(env, q="giay chung nhan ket hon")["total"] == 0


def test_search_ranks_exact_diacritics_first(env: Env) -> None:
    found = numbers(search(env, q="Quyết định cấp phép"))
    # exact phrase > folded phrase with most words exact ("cáp" is an OCR slip) > folded only
    assert found == ["123/QĐ-UBND", "8/QĐ-UBND", "7/QĐ-UBND"]


def test_search_filters_and_paging(env: Env) -> None:
    assert set(numbers(search(env, type="quyet dinh"))) == {"123/QĐ-UBND", "7/QĐ-UBND", "8/QĐ-UBND"}
    assert set(numbers(search(env, issuer="Kiến Xương"))) == {"123/QĐ-UBND"}  # 45/GPXD awaits review
    assert set(numbers(search(env, issuer="vu tay", **{"from": "2026-01-01"}))) == {"7/QĐ-UBND"}
    assert set(numbers(search(env, **{"from": "2019-01-01", "to": "2021-12-31"}))) == {"123/QĐ-UBND", "12/TLKS"}
    everything = search(env, q="cap phep", limit=100)
    assert everything["total"] == 3
    pages = [numbers(search(env, q="cap phep", limit=1, offset=i))[0] for i in range(3)]
    assert pages == numbers(everything)
    beyond = search(env, q="cap phep", limit=5, offset=10)
    assert beyond["total"] == 3 and beyond["total_is_exact"] is True and beyond["results"] == []


def test_search_says_when_the_total_is_capped(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.search

    monkeypatch.setattr(storage.search, "TOTAL_CAP", 2)  # 3 matches: more than are counted
    capped = search(env, q="cap phep", limit=100)
    assert (capped["total"], capped["total_is_exact"]) == (2, False)
    assert len(capped["results"]) == 3  # the results are all there; only the count stopped


def test_search_treats_like_wildcards_literally(env: Env) -> None:
    assert search(env, q="%")["total"] == 0
    assert search(env, q="_")["total"] == 0


def test_search_follows_review_corrections(env: Env) -> None:
    doc_id = doc_id_of(env, "12/TLKS")
    env.client.put(f"/api/v1/documents/{doc_id}", headers=env.h("clerk"),
                   json={"summary": "Bản sao trích lục đặc biệt"})
    assert numbers(search(env, q="dac biet")) == ["12/TLKS"]


# --- operations ----------------------------------------------------------------------------------


def test_healthz_is_public_and_reports_store_failure(env: Env, tmp_path: Path) -> None:
    r = env.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "index": "ok", "store": "ok"}

    class BrokenStore(LocalObjectStore):
        def exists(self, key: str) -> bool:
            raise StorageError("object store unreachable")

    broken = TestClient(create_app(env.settings, env.index, BrokenStore(tmp_path / "b")))
    r = broken.get("/healthz")
    assert r.status_code == 503 and r.json() == {"status": "failing", "index": "ok", "store": "failing"}


def metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[-1])


def test_metrics_report_pages_failures_queue_and_backlog(tmp_path: Path) -> None:
    from digitize.models import PageResult

    depth: Callable[[], int] = lambda: 7  # noqa: E731
    env = make_env(tmp_path, queue_depth=depth)
    sha = next(iter(env.docs.values())).sha256
    for page in (1, 2, 3):
        env.index.record_page(sha, PageResult(page=page, error="ocr timeout" if page == 3 else None))
    env.index.fail_file("f" * 64, source="bad.pdf", size=10, reason="corrupt", message="broken")
    r = env.client.get("/metrics", headers={"Authorization": f"Bearer {env.tokens['portal']}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metric(text, "digitize_pages_processed_total") == 2
    assert metric(text, "digitize_pages_failed_total") == 1
    assert metric(text, "digitize_files_failed_total") == 1
    assert metric(text, "digitize_queue_depth") == 7
    assert metric(text, "digitize_review_backlog") == 1
    assert metric(text, "digitize_documents") == 5
    assert 'digitize_files{status="done"} 4.0' in text
    assert 'digitize_http_requests_total{method="GET",route="/metrics"' not in text  # counted after it returns
    text2 = env.client.get("/metrics", headers=env.h("portal")).text
    assert 'digitize_http_requests_total{method="GET",route="/metrics",status="200"} 1.0' in text2


def test_admin_manages_keys_over_the_api(env: Env) -> None:
    r = env.client.post("/api/v1/keys", headers=env.h("admin"), json={"name": "portal-hcm", "role": "portal"})
    assert r.status_code == 201
    token = r.json()["token"]
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers={"X-API-Key": token}).status_code == 200
    listed = env.client.get("/api/v1/keys", headers=env.h("admin")).json()
    assert {k["name"] for k in listed} == {"portal-key", "clerk-key", "admin-key", "portal-hcm"}
    assert all("token" not in k and "key_hash" not in k for k in listed)
    dup = env.client.post("/api/v1/keys", headers=env.h("admin"), json={"name": "portal-hcm", "role": "clerk"})
    assert dup.status_code == 409
    assert env.client.delete("/api/v1/keys/portal-hcm", headers=env.h("admin")).status_code == 204
    assert env.client.get(f"/api/v1/dossiers/{D1}", headers={"X-API-Key": token}).status_code == 401
    assert env.client.delete("/api/v1/keys/portal-hcm", headers=env.h("admin")).status_code == 404
    actions = [(a["action"], a["target"]) for a in env.client.get("/api/v1/audit", headers=env.h("admin")).json()]
    assert ("key_create", "portal-hcm") in actions and ("key_revoke", "portal-hcm") in actions


def test_create_key_function_validates_role_and_name(env: Env) -> None:
    from digitize.errors import InputError

    with pytest.raises(InputError):
        access.create_key(env.index, "x", "superuser")
    with pytest.raises(InputError):
        access.create_key(env.index.engine, "bad name/../", "portal")
    token = access.create_key(env.index.engine, "ops@agency", "admin")
    key = access.authenticate(env.index, token)
    assert key is not None and key.name == "ops@agency" and key.role == "admin"
    assert access.authenticate(env.index, token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_official_mapping_splits_number() -> None:
    from digitize.document.extract import official_metadata

    long = official_metadata(dataclasses.replace(Metadata(), number=Field("163/2025/QĐ-UBND", 1.0)), page_amount=1,
                             dossier_id=D1)
    assert (long["CodeNumber"], long["CodeNotation"]) == ("163", "2025/QĐ-UBND")
    out = official_metadata(dataclasses.replace(Metadata(), number=Field("12/TLKS", 1.0)), page_amount=3,
                            dossier_id=D1)
    assert out["CodeNumber"] == "12" and out["PageAmount"] == 3 and out["DossierCode"] == D1
    assert out["TypeName"] is None


# --- the distributed back-ends: PostgreSQL index and S3 object store -----------------------------


def test_api_on_postgres_and_s3(tmp_path: Path, s3_store: Any, postgres_db_url: str) -> None:
    import time

    import httpx

    # a TTL of a few seconds: X-Amz-Date has whole seconds, so a 1 s link may expire before its first use
    env = make_env(tmp_path, store=s3_store, index_url=postgres_db_url, presign_ttl=dt.timedelta(seconds=4))
    dossier = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("clerk")).json()
    assert dossier["document_count"] == 2 and dossier["needs_review_count"] == 1
    assert numbers(search(env, q="Quyết định cấp phép")) == ["123/QĐ-UBND", "8/QĐ-UBND", "7/QĐ-UBND"]
    assert numbers(search(env, q="quyet dinh cap phep"))[0] == "7/QĐ-UBND"
    assert search(env, q="%")["total"] == 0

    doc_id = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"), follow_redirects=False)
    assert r.status_code == 307
    url = r.headers["location"]
    assert httpx.get(url).content == env.pdfs[doc_id]
    time.sleep(5.5)
    expired = httpx.get(url)
    assert expired.status_code == 403  # the presigned URL has expired

    zf = zipfile.ZipFile(io.BytesIO(env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("clerk")).content))
    sums = dict(reversed(line.split("  ", 1)) for line in zf.read("SHA256SUMS").decode().splitlines())
    assert all(hashlib.sha256(zf.read(n)).hexdigest() == d for n, d in sums.items()) and len(sums) == 3

    scan = render_pdf(["Giấy xác nhận"])
    job = env.client.post("/api/v1/documents/import", headers=env.h("clerk"),
                          files={"file": ("s.pdf", scan, "application/pdf")}).json()
    assert s3_store.get_bytes(layout.original_key(job["sha256"], "pdf")) == scan
    assert env.client.get(f"/api/v1/jobs/{job['job_id']}", headers=env.h("clerk")).json()["status"] == "queued"

    doc2 = doc_id_of(env, "45/GPXD")
    r = env.client.put(f"/api/v1/documents/{doc2}", headers=env.h("clerk"), json={"needs_review": False})
    assert r.status_code == 200 and r.json()["review"]["reviewed_by"] == "clerk-key"
    assert {a["action"] for a in access.audit_entries(env.index)} >= {"download", "package", "import", "review"}
    env.index.close()
