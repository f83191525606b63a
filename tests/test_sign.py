"""Signed electronic copies: a test CA issues the agency's certificate; the signed PDFs must validate with
pyHanko against that CA, still pass ``qpdf --check``, and carry the Decree 30/2020 mark on page 1."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from digitize.config import Settings
from digitize.errors import IntegrityError, SigningError
from digitize.handoff import sign
from storage import access
from storage.index import Index
from storage.objects import LocalObjectStore
from tests.apienv import FONT, populate, render_pdf
from tests.gen.certs import AGENCY, PASSWORD, Authority, make_ca, validate


def two_page_pdf() -> bytes:
    from digitize.page.pdf import merge_pages

    return merge_pages([render_pdf(["QUYẾT ĐỊNH", "Về việc cấp phép xây dựng"]), render_pdf(["Trang 2"])])


def page_text_with_annotations(pdf: bytes) -> str:
    """Text of page 1 including what its annotations draw (flattened first, as a viewer shows it)."""
    import pikepdf
    import pypdfium2

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.flatten_annotations(mode="all")
        doc.save(out)
    page = pypdfium2.PdfDocument(out.getvalue())[0]
    return page.get_textpage().get_text_range()


# --- signing one PDF ---------------------------------------------------------------------------


def test_signed_pdf_validates_against_the_test_ca_and_keeps_the_original(ca: Authority,
                                                                         signer: sign.CopySigner) -> None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    pdf = two_page_pdf()
    when = dt.datetime(2026, 2, 3, 3, 15, 30, 123456, tzinfo=dt.UTC)
    signed = sign.sign_pdf(pdf, signer, when)
    assert signed.startswith(pdf)  # an incremental update: the unsigned bytes are kept as they were
    embedded, status = validate(signed, ca)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert status.md_algorithm == "sha256"
    assert status.signing_cert.subject.native["organization_name"] == AGENCY
    assert status.signer_reported_dt == dt.datetime(2026, 2, 3, 10, 15, 30, tzinfo=sign.VIETNAM)
    assert str(embedded.sig_object["/M"]).startswith("D:20260203101530+07")


def test_signed_pdf_passes_qpdf_check_and_keeps_its_pages(signer: sign.CopySigner, tmp_path: Path) -> None:
    import pikepdf

    signed = sign.sign_pdf(two_page_pdf(), signer)
    with pikepdf.open(io.BytesIO(signed)) as doc:
        assert len(doc.pages) == 2
        assert doc.check_pdf_syntax() == []
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_visible_mark_is_top_right_of_page_one_with_copy_form_agency_and_time(signer: sign.CopySigner) -> None:
    import pikepdf

    pdf = two_page_pdf()
    when = dt.datetime(2026, 2, 3, 10, 15, 30, tzinfo=sign.VIETNAM)
    signed = sign.sign_pdf(pdf, signer, when)
    with pikepdf.open(io.BytesIO(signed)) as doc:
        page = doc.pages[0]
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        widgets = [a for a in page.obj.get("/Annots", []) if a.get("/FT") == "/Sig" or "/Parent" in a
                   or a.get("/Subtype") == "/Widget"]
        assert len(widgets) == 1
        left, bottom, right, top = (float(v) for v in widgets[0]["/Rect"])
        assert (x1 + x0) / 2 < left < right <= x1 and (y1 + y0) / 2 < bottom < top <= y1  # top right quarter
        assert x1 - right <= 10 and y1 - top <= 10
        appearance = widgets[0]["/AP"]["/N"].read_bytes()
        assert b"/F1 10 Tf" in appearance  # 10 pt, as the decree asks ...
        assert not re.match(rb"q q 0\.\d+ 0 0 0\.\d+", appearance)  # ... and not shrunk to fit the box
        assert not doc.pages[1].obj.get("/Annots")
    text = page_text_with_annotations(signed)
    for expected in ("SAO Y", AGENCY, "2026-02-03T10:15:30+07:00"):
        assert expected in text, (expected, text)


def test_mark_lines_use_vietnam_time_and_wrap_long_agency_names(signer: sign.CopySigner, ca: Authority) -> None:
    when = sign.signing_time(dt.datetime(2026, 12, 31, 20, 0, 1, 999, tzinfo=dt.UTC))
    assert when.isoformat() == "2027-01-01T03:00:01+07:00"
    long = dataclasses.replace(signer, agency="Ủy ban nhân dân tỉnh Thái Bình — Sở Tài nguyên và Môi trường — "
                                               "Văn phòng đăng ký đất đai")
    lines = sign.mark_lines(long, when)
    assert lines[0] == "SAO Y" and lines[-1] == "2027-01-01T03:00:01+07:00"
    assert len(lines) >= 4 and all(len(line) <= sign.WRAP for line in lines[1:-1])
    assert " ".join(lines[1:-1]) == long.agency
    signed = sign.sign_pdf(two_page_pdf(), long, when)
    assert validate(signed, ca)[1].bottom_line
    text = page_text_with_annotations(signed)
    assert all(line in text for line in lines)


# --- configuration errors ----------------------------------------------------------------------


def test_wrong_password_missing_file_and_missing_font_are_clear_errors(ca: Authority, tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="wrong password"):
        sign.load_pkcs12(ca.p12, "not the password")
    with pytest.raises(SigningError, match="cannot read"):
        sign.load_pkcs12(tmp_path / "nowhere.p12", PASSWORD)
    with pytest.raises(SigningError, match="fonts-liberation2"):
        sign.load_pkcs12(ca.p12, PASSWORD, font=tmp_path / "no-font.ttf")
    (tmp_path / "junk.p12").write_bytes(b"not a certificate")
    with pytest.raises(SigningError):
        sign.load_pkcs12(tmp_path / "junk.p12", None)


def test_expired_certificate_and_nameless_certificate_are_refused(tmp_path: Path) -> None:
    old = make_ca(tmp_path, not_after=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    with pytest.raises(SigningError, match="not valid now"):
        sign.load_pkcs12(old.p12, PASSWORD)
    (tmp_path / "n").mkdir()
    nameless = make_ca(tmp_path / "n", org=None, password=None)
    loaded = sign.load_pkcs12(nameless.p12, None)  # falls back to the CN
    assert loaded.agency.startswith("Văn thư")
    assert sign.load_pkcs12(nameless.p12, None, agency="UBND xã Vũ Tây").agency == "UBND xã Vũ Tây"


def test_settings_select_the_signer(ca: Authority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sign.load_signer(Settings(archive=tmp_path)) is None
    monkeypatch.setenv("DIGITIZE_SIGN_PKCS12", str(ca.p12))
    monkeypatch.setenv("DIGITIZE_SIGN_PKCS12_PASSWORD", PASSWORD)
    monkeypatch.setenv("DIGITIZE_SIGN_AGENCY", "UBND huyện Kiến Xương")
    s = Settings(archive=tmp_path)
    assert PASSWORD not in repr(s)  # the password is a secret in logs and tracebacks
    loaded = sign.load_signer(s)
    assert loaded is not None and loaded.agency == "UBND huyện Kiến Xương" and loaded.copy_form == "SAO Y"
    assert loaded.cert_sha256 == hashlib.sha256(ca.leaf.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_font_path_default_is_the_liberation_serif_the_tests_use() -> None:
    assert Settings().sign_font == FONT


# --- signing stored documents ------------------------------------------------------------------


@pytest.fixture
def archive(tmp_path: Path):  # type: ignore[no-untyped-def]
    index = Index.from_url(f"sqlite:///{tmp_path / 'index.sqlite'}")
    store = LocalObjectStore(tmp_path / "objects")
    docs, _pdfs = populate(index, store)
    yield index, store, docs
    index.close()


def ready_doc(docs):  # type: ignore[no-untyped-def]
    return next(d for d in docs.values() if d.metadata.number.value == "123/QĐ-UBND")


def test_ensure_signed_is_idempotent_records_sha256_and_audits(archive, signer: sign.CopySigner,  # type: ignore[no-untyped-def]
                                                               ca: Authority) -> None:
    index, store, docs = archive
    doc = ready_doc(docs)
    first = sign.ensure_signed(doc, index, store, signer, who="clerk1")
    assert first.source_sha256 == doc.pdf_sha256 and first.signer == signer.subject
    signed = store.get_bytes(first.signed_key)
    assert hashlib.sha256(signed).hexdigest() == first.signed_sha256
    assert store.get_bytes(doc.pdf_key) != signed  # the unsigned copy stays
    _, status = validate(signed, ca)
    assert status.bottom_line
    again = sign.ensure_signed(doc, index, store, signer, who="clerk1")
    assert again == first
    assert len([k for k in store.list(f"documents/{doc.doc_id}/") if "signed-" in k]) == 1
    entries = access.audit_entries(index, action="sign")
    assert len(entries) == 1 and entries[0]["who"] == "clerk1" and entries[0]["target"] == doc.doc_id
    assert entries[0]["detail"]["signed_sha256"] == first.signed_sha256
    assert sign.served_copy(doc, first).pdf_key == first.signed_key


def test_a_remade_pdf_is_signed_again(archive, signer: sign.CopySigner) -> None:  # type: ignore[no-untyped-def]
    index, store, docs = archive
    doc = ready_doc(docs)
    first = sign.ensure_signed(doc, index, store, signer, who="x")
    new_pdf = render_pdf(["QUYẾT ĐỊNH (quét lại)"])
    remade = dataclasses.replace(doc, pdf_sha256=store.put_bytes(doc.pdf_key, new_pdf, "application/pdf"))
    assert sign.signature_in_force(index, remade) is None
    second = sign.ensure_signed(remade, index, store, signer, who="x")
    assert second.source_sha256 == remade.pdf_sha256 != first.source_sha256
    assert sign.signature_in_force(index, remade) == second


def test_documents_needing_review_tampered_or_without_pdf_are_not_signed(archive, signer: sign.CopySigner) -> None:  # type: ignore[no-untyped-def]
    index, store, docs = archive
    review = next(d for d in docs.values() if d.needs_review)
    with pytest.raises(SigningError, match="review"):
        sign.ensure_signed(review, index, store, signer, who="x")
    no_pdf = next(d for d in docs.values() if not d.pdf_key)
    with pytest.raises(SigningError, match="no PDF"):
        sign.ensure_signed(no_pdf, index, store, signer, who="x")
    doc = ready_doc(docs)
    store.put_bytes(doc.pdf_key, b"%PDF-1.4 tampered")
    with pytest.raises(IntegrityError):
        sign.ensure_signed(doc, index, store, signer, who="x")
    assert access.get_signatures(index, [d.doc_id for d in docs.values()]) == {}


def test_losing_a_signing_race_keeps_the_first_copy(archive, signer: sign.CopySigner) -> None:  # type: ignore[no-untyped-def]
    index, store, docs = archive
    doc = ready_doc(docs)
    winner = sign.ensure_signed(doc, index, store, signer, who="a")
    # a second signer that checked before the first one recorded its signature
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    original = sign.signature_in_force
    try:
        sign.signature_in_force = lambda *_a, **_k: None  # type: ignore[assignment]
        loser = sign.ensure_signed(doc, index, store, signer, who="b", now=later)
    finally:
        sign.signature_in_force = original  # type: ignore[assignment]
    assert loser == winner
    assert [k for k in store.list(f"documents/{doc.doc_id}/") if "signed-" in k] == [winner.signed_key]


# --- the API hands out signed copies -------------------------------------------------------------


def test_api_signs_reviewed_copies_on_first_download_and_marks_the_rest_unsigned(
        tmp_path: Path, signer: sign.CopySigner, ca: Authority) -> None:
    from tests.apienv import D1, doc_id_of, make_env

    env = make_env(tmp_path, signer=signer)
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    before = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("portal")).json()
    assert {d["doc_id"]: d["signed"] for d in before["documents"]}[doc_id] is False
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert r.status_code == 200 and r.headers["x-digitize-signed"] == "true"
    assert r.content != env.pdfs[doc_id] and r.content.startswith(b"%PDF")
    assert validate(r.content, ca)[1].bottom_line
    assert r.headers["etag"] == f'"{hashlib.sha256(r.content).hexdigest()}"'
    again = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert again.content == r.content  # signed once
    assert [e["target"] for e in access.audit_entries(env.index, action="sign")] == [doc_id]
    assert access.audit_entries(env.index, action="sign")[0]["who"] == "portal-key"
    after = env.client.get(f"/api/v1/documents/{doc_id}", headers=env.h("portal")).json()
    assert after["signed"] is True and after["signature"]["sha256"] == hashlib.sha256(r.content).hexdigest()
    assert after["signature"]["signer"] == signer.subject and after["pdf_sha256"] == env.docs[doc_id].pdf_sha256

    review_id = doc_id_of(env, "45/GPXD")  # needs review: handed out unsigned
    r = env.client.get(f"/api/v1/documents/download/{review_id}", headers=env.h("clerk"))
    assert r.status_code == 200 and r.headers["x-digitize-signed"] == "false" and r.content == env.pdfs[review_id]


def test_api_package_carries_signed_copies_and_says_which(tmp_path: Path, signer: sign.CopySigner,
                                                          ca: Authority) -> None:
    import json
    import zipfile

    from tests.apienv import D1, make_env

    env = make_env(tmp_path, signer=signer)
    r = env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("clerk"))  # clerk: with the pending one
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    md = json.loads(zf.read("metadata.json"))
    sums = dict(reversed(line.split("  ", 1)) for line in zf.read("SHA256SUMS").decode().splitlines())
    by_number = {rec["CodeNumber"]: rec for rec in md["Documents"]}
    ready, review = by_number["123"], by_number["45"]
    assert ready["Signed"] is True and ready["SignedAt"].endswith("+07:00") and ready["Signer"] == signer.subject
    signed = zf.read(ready["FileName"])
    assert validate(signed, ca)[1].bottom_line and hashlib.sha256(signed).hexdigest() == sums[ready["FileName"]]
    assert review["Signed"] is False and review["SignedAt"] is None
    assert zf.read(review["FileName"]) == env.pdfs[review["DocId"]]
    assert access.audit_entries(env.index, action="package")[0]["detail"]["signed"] == [ready["DocId"]]


def test_api_without_certificate_serves_unsigned_copies_marked_unsigned(tmp_path: Path) -> None:
    import json
    import zipfile

    from tests.apienv import D1, doc_id_of, make_env

    env = make_env(tmp_path)
    doc_id = doc_id_of(env, "123/QĐ-UBND")
    r = env.client.get(f"/api/v1/documents/download/{doc_id}", headers=env.h("portal"))
    assert r.content == env.pdfs[doc_id] and r.headers["x-digitize-signed"] == "false"
    listing = env.client.get(f"/api/v1/dossiers/{D1}", headers=env.h("portal")).json()
    assert all(d["signed"] is False and d["signature"] is None for d in listing["documents"])
    zf = zipfile.ZipFile(io.BytesIO(env.client.get(f"/api/v1/dossiers/{D1}/package", headers=env.h("portal")).content))
    assert all(rec["Signed"] is False for rec in json.loads(zf.read("metadata.json"))["Documents"])
    assert access.audit_entries(env.index, action="sign") == []
