"""The office report: every count checked against a fixture archive, in the table, CSV, XLSX and the API."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from digitize.api.app import create_app
from digitize.cli import main
from digitize.config import Settings
from digitize.handoff import report
from digitize.models import Document, PageResult, Quality
from storage import access
from storage.index import Index, files
from storage.objects import LocalObjectStore
from tests.apienv import meta

VN = dt.timezone(dt.timedelta(hours=7))
A, B = "Ủy ban nhân dân xã An Bình", "Ủy ban nhân dân xã Bình Minh"
D1, D2 = "000.00.13.H56-260715-0001", "H26.107.01-260930-010001"

# file: (source, received (Vietnam time), page count, status, documents: (id, pages, issuer, type, dossier, review))
FILES: list[tuple[str, dt.datetime, int, str, list[tuple[str, list[int], str, str, str | None, bool]]]] = [
    ("box1/a.pdf", dt.datetime(2026, 7, 15, 9, 0, tzinfo=VN), 3, "done",
     [("d1", [1, 2], A, "Quyết định", D1, False), ("d2", [3], B, "Giấy phép", None, True)]),
    ("box1/b.pdf", dt.datetime(2026, 9, 30, 23, 30, tzinfo=VN), 2, "done",  # 16:30 UTC: still Q3 in Vietnam
     [("d3", [1, 2], A, "Quyết định", D2, False)]),
    ("box2/c.pdf", dt.datetime(2026, 8, 1, 10, 0, tzinfo=VN), 4, "failed", []),
    ("single.tif", dt.datetime(2026, 10, 1, 0, 30, tzinfo=VN), 1, "done",  # 30 Sep 17:30 UTC: Q4 in Vietnam
     [("d4", [1], A, "Thông báo", None, False)]),
    ("box2/old.pdf", dt.datetime(2026, 6, 30, 12, 0, tzinfo=VN), 1, "done",
     [("d5", [1], B, "Quyết định", None, False)]),
]
REVIEWS = [("d1", "minh"), ("d1", "lan"), ("d1", "lan"), ("d3", "minh"), ("d5", "lan")]  # in this order
SIGNED = ["d1", "d3", "d5"]
PUBLICATIONS = [("d1", "published"), ("d3", "failed"), ("d5", "published")]
PAGES = [("box1/a.pdf", 2, ("blurred (sharpness 0.31 < 0.5)",), None), ("box1/a.pdf", 3, (), None),
         ("box2/c.pdf", 1, (), "tesseract failed"), ("box1/b.pdf", 1, (), None),
         ("box2/old.pdf", 1, ("dpi 150 < 200",), None)]


def sha(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def doc_id(short: str) -> str:
    return f"{hashlib.sha256(short.encode()).hexdigest()[:16]}-{short}"


def build_archive(root: Path) -> Index:
    index = Index.from_url(f"sqlite:///{root / 'index.sqlite'}")
    for source, received, page_count, status, docs in FILES:
        index.upsert_file(sha(source), source=source, size=100, kind="pdf", page_count=page_count, status=status)
        if status == "failed":
            index.finish_file(sha(source), status="failed", pages_done=0, pages_failed=1, pages_blank=0,
                              reason="ocr", message="tesseract failed")
        index.replace_documents(sha(source), [
            Document(doc_id=doc_id(i), sha256=sha(source), source=source, pages=tuple(pages), kind="result",
                     dossier_id=dossier, dossier_source="separator" if dossier else None,
                     metadata=meta(kind, "1/QĐ", "2026-07-01", issuer, "Về việc"), text="...", needs_review=review,
                     reasons=("no dossier code",) if review else ())
            for i, pages, issuer, kind, dossier, review in docs])
        with index.engine.begin() as conn:
            # as the index records it: in UTC
            conn.execute(files.update().where(files.c.sha256 == sha(source))
                         .values(created_at=received.astimezone(dt.UTC)))
    # a receipt is no result document: never counted
    index.replace_documents(sha("box1/b.pdf"), [*index.list_documents(sha256=sha("box1/b.pdf")), Document(
        doc_id=doc_id("r1"), sha256=sha("box1/b.pdf"), source="box1/b.pdf", pages=(3,), kind="receipt",
        dossier_id=D2, dossier_source="receipt_barcode", metadata=meta(None, None, None, None, None), text="",
        needs_review=False, reasons=())])
    for short, who in REVIEWS:
        doc = index.get_document(doc_id(short))
        index.update_document(doc, who=who, action="review", detail={"needs_review": False})
    for source, page, issues, error in PAGES:
        index.record_page(sha(source), PageResult(page=page, quality=Quality(issues=issues), error=error))
    now = dt.datetime.now(dt.UTC)
    with index.engine.begin() as conn:
        for short in SIGNED:
            conn.execute(access.signatures.insert().values(
                doc_id=doc_id(short), source_sha256="0" * 64, signed_key=f"documents/{short}/signed.pdf",
                signed_sha256="1" * 64, signer="CN=UBND", cert_sha256="2" * 64, signed_at=now))
        for i, (short, status) in enumerate(PUBLICATIONS):
            conn.execute(access.publications.insert().values(
                idempotency_key=f"{i:064d}", doc_id=doc_id(short), dossier_id=D1, endpoint="https://portal",
                status=status, signed=True, attempts=1, http_status=201 if status == "published" else 500,
                published_at=now if status == "published" else None, updated_at=now))
    return index


def counts(files: int = 0, pages: int = 0, documents: int = 0, linked: int = 0, needs_review: int = 0,
           reviewed: int = 0, signed: int = 0, published: int = 0, failed: int = 0, rescans: int = 0,
           reviewers: dict[str, int] | None = None) -> dict[str, Any]:
    return {"files": files, "pages": pages, "documents": documents, "linked": linked, "needs_review": needs_review,
            "reviewed": reviewed, "signed": signed, "published": published, "failed": failed, "rescans": rescans,
            "reviewers": reviewers or {}}


Q3_TOTAL = counts(files=3, pages=9, documents=3, linked=2, needs_review=1, reviewed=2, signed=2, published=1,
                  failed=1, rescans=2, reviewers={"lan": 1, "minh": 2})
EXPECTED: dict[str | None, dict[str, dict[str, Any]]] = {
    "issuer": {A: counts(files=2, pages=4, documents=2, linked=2, reviewed=2, signed=2, published=1, rescans=1,
                         reviewers={"lan": 1, "minh": 2}),
               B: counts(files=1, pages=1, documents=1, needs_review=1),
               "-": counts(files=1, pages=4, failed=1, rescans=1)},
    "type": {"Quyết định": counts(files=2, pages=4, documents=2, linked=2, reviewed=2, signed=2, published=1,
                                  rescans=1, reviewers={"lan": 1, "minh": 2}),
             "Giấy phép": counts(files=1, pages=1, documents=1, needs_review=1),
             "-": counts(files=1, pages=4, failed=1, rescans=1)},
    "dossier": {D1: counts(files=1, pages=2, documents=1, linked=1, reviewed=1, signed=1, published=1, rescans=1,
                           reviewers={"lan": 1, "minh": 1}),
                D2: counts(files=1, pages=2, documents=1, linked=1, reviewed=1, signed=1, reviewers={"minh": 1}),
                "-": counts(files=2, pages=5, documents=1, needs_review=1, failed=1, rescans=1)},
    "batch": {"box1": counts(files=2, pages=5, documents=3, linked=2, needs_review=1, reviewed=2, signed=2,
                             published=1, rescans=1, reviewers={"lan": 1, "minh": 2}),
              "box2": counts(files=1, pages=4, failed=1, rescans=1)},
    "clerk": {"lan": counts(files=1, pages=2, documents=1, linked=1, reviewed=1, signed=1, published=1, rescans=1,
                            reviewers={"lan": 1, "minh": 1}),
              "minh": counts(files=1, pages=2, documents=1, linked=1, reviewed=1, signed=1, reviewers={"minh": 1}),
              "-": counts(files=2, pages=5, documents=1, needs_review=1, failed=1, rescans=1)},
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    build_archive(root).close()
    return root


def as_rows(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r.pop("key"): r for r in rep["rows"]}


@pytest.mark.parametrize("by", ["issuer", "type", "dossier", "batch", "clerk"])
def test_every_count_of_the_quarter(archive: Path, by: str) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    rep = report.build(index, report.parse_period("2026-Q3"), by).as_dict()
    assert rep["period"] == {"label": "2026-Q3", "from": "2026-07-01", "to": "2026-09-30"}
    assert as_rows(rep) == EXPECTED[by]
    assert {k: v for k, v in rep["total"].items() if k != "key"} == Q3_TOTAL


def test_periods_and_day_bounds_in_vietnam_time(archive: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    day = report.build(index, report.parse_period(None, "2026-10-01", "2026-10-01")).as_dict()["total"]
    assert day["files"] == 1 and day["documents"] == 1 and day["pages"] == 1
    q2 = report.build(index, report.parse_period("2026-Q2")).as_dict()["total"]
    assert (q2["files"], q2["documents"], q2["signed"], q2["published"], q2["rescans"], q2["reviewers"]) == (
        1, 1, 1, 1, 1, {"lan": 1})
    everything = report.build(index, report.parse_period()).as_dict()["total"]
    assert everything["files"] == len(FILES) and everything["documents"] == 5
    assert report.parse_period("2026-12").end == dt.date(2027, 1, 1)
    assert report.parse_period("2026-Q4").start == dt.date(2026, 10, 1)
    for bad in ("2026-Q5", "Q3-2026", "2026-13"):
        with pytest.raises(report.ReportError):
            report.parse_period(bad)
    with pytest.raises(report.ReportError):
        report.parse_period(None, "2026-10-02", "2026-10-01")


def test_terminal_csv_xlsx_and_json_hold_the_same_numbers(archive: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    base = ["--archive", str(archive), "report", "--period", "2026-Q3", "--by", "issuer"]
    assert main(base) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("Issuer") and "Files received" in table[0] and "Reviewed by" in table[0]
    total_line = table[-1].split()
    assert total_line[:11] == ["Total", "3", "9", "3", "2", "1", "2", "2", "1", "1", "2"]
    assert main([*base, "--csv", "-"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    xlsx = tmp_path / "q3.xlsx"
    assert main([*base, "--xlsx", str(xlsx)]) == 0
    sheet = load_workbook(xlsx).active
    values = [[c for c in r] for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert "2026-Q3" in sheet["A1"].value and sheet["A3"].font.bold and sheet.freeze_panes == "B4"
    assert [[("" if v is None else str(v)) for v in r] for r in values] == rows
    want = [[k, *(str(EXPECTED["issuer"][k][c]) for c in report.COUNTS)] for k in (A, B, "-")]
    assert [r[:11] for r in rows[1:4]] == want and rows[4][0] == "Total"
    assert rows[1][11] == "lan (1), minh (2)"
    assert main([*base, "--json"]) == 0
    assert as_rows(json.loads(capsys.readouterr().out)) == EXPECTED["issuer"]
    assert main(["--archive", str(archive), "--lang", "vi", "report", "--period", "2026-Q3", "--by", "batch"]) == 0
    vi = capsys.readouterr().out.splitlines()
    assert vi[0].startswith("Lô quét") and "Tệp đã nhận" in vi[0] and vi[-1].startswith("Tổng cộng")
    assert main(["--archive", str(archive), "report", "--period", "2026-Q9"]) == 2


def test_the_api_gives_the_same_report(archive: Path, tmp_path: Path) -> None:
    index = Index.from_url(f"sqlite:///{archive / 'index.sqlite'}")
    token = access.create_key(index, f"portal-{tmp_path.name}", "portal")
    client = TestClient(create_app(Settings(archive=archive), index, LocalObjectStore(archive / "objects")))
    for by in EXPECTED:
        r = client.get("/api/v1/reports", params={"period": "2026-Q3", "by": by}, headers={"X-API-Key": token})
        assert r.status_code == 200, r.text
        assert as_rows(r.json()) == EXPECTED[by]
    r = client.get("/api/v1/reports", params={"from": "2026-10-01", "to": "2026-10-01"},
                   headers={"X-API-Key": token})
    assert r.json()["total"]["files"] == 1 and r.json()["rows"] == []
    assert client.get("/api/v1/reports", params={"period": "2026-Q9"}, headers={"X-API-Key": token}).status_code == 400
    assert client.get("/api/v1/reports").status_code == 401
    with index.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(access.audit_log)
                            .where(access.audit_log.c.action == "report")).scalar() == len(EXPECTED) + 1  # not the 400
