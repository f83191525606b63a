"""Born-digital PDF pages are read from the PDF's own text; scans (with or without an OCR layer) are OCR'd."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from digitize.document.reocr import page_image
from digitize.models import DocumentPlan, InputKind, SourceFile
from digitize.page.textlayer import read_text_layer
from digitize.pipeline.page import PageTask, make_document, process_page
from digitize.samples.documents import DocSpec, cong_van
from tests.gen import borndigital as bd


def _squash(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[0].get_textpage().get_text_range()
    finally:
        doc.close()


def _run(path: Path, page: int = 1):  # type: ignore[no-untyped-def]
    out = process_page(PageTask(path=str(path), kind=InputKind.PDF, page=page))
    assert out.result.error is None, out.result.error
    return out


def test_record_text_is_the_pdfs_own_text_and_the_page_pdf_carries_it(tmp_path: Path) -> None:
    path = tmp_path / "qd.pdf"
    made = bd.decision_pdf(path, seal=True)
    out = _run(path)
    r = out.result
    assert _squash(r.text) == _squash(" ".join(made["lines"]))
    assert unicodedata.is_normalized("NFC", r.text)
    assert r.words and all(w.conf == 100.0 for w in r.words)
    assert r.mean_conf == 100.0
    # the red seal picture was looked at and gave no words; the stored page is the rendered page
    image = page_image(out.pdf)
    assert image.shape[1] == r.width and image.shape[0] == r.height and image.ndim == 3  # colour: the seal
    # rendered at the configured resolution, not at that of the (finer) seal picture
    assert r.dpi == 300 and abs(r.width - 595.28 / 72 * 300) <= 1
    assert _squash(_pdf_text(out.pdf)) == _squash(r.text)  # the searchable page says exactly that


def test_word_boxes_lie_on_their_ink_also_on_a_rotated_page(tmp_path: Path) -> None:
    for rotate in (0, 90):
        path = tmp_path / f"r{rotate}.pdf"
        bd.decision_pdf(path, rotate=rotate)
        out = _run(path)
        image = page_image(out.pdf)
        gray = image if image.ndim == 2 else image.min(axis=2)
        assert gray.shape == (out.result.height, out.result.width)
        assert gray.shape[0] > gray.shape[1]  # shown upright (portrait) after /Rotate 90
        ink = gray < 128
        covered = np.zeros_like(ink)
        for w in out.result.words:
            assert ink[w.top:w.top + w.height, w.left:w.left + w.width].mean() > 0.08, (rotate, w)
            covered[max(0, w.top - 4):w.top + w.height + 4, max(0, w.left - 4):w.left + w.width + 4] = True
        assert (ink & ~covered).sum() < 0.005 * ink.sum(), rotate  # every letter lies in its word's box


def test_combining_marks_and_ligatures_come_out_as_nfc_words(tmp_path: Path) -> None:
    lines = ["Thủ tục hành chính về đất đai ở xã Bình Minh", "Quyết định số 12 ngày 5 tháng 6 năm 2021"]
    bd.text_page(tmp_path / "nfd.pdf", lines, decomposed=True)
    r = _run(tmp_path / "nfd.pdf").result
    assert r.text == "\n".join(lines)  # base letters + combining marks in the PDF, one NFC word each
    assert [w.line for w in r.words].count(1) == len(lines[0].split())
    hyphenated = ["Căn cứ Nghị định số 133/2025/NĐ-", "CP ngày 5 tháng 6 năm 2025 của Chính phủ;"]
    bd.text_page(tmp_path / "hyphen.pdf", hyphenated)  # pdfium reports a line-end hyphen as a control code
    assert _run(tmp_path / "hyphen.pdf").result.text == "\n".join(hyphenated)
    for mapping in ("fi", "\ufb01"):  # ToUnicode maps the ligature glyph to "fi", or to the ligature itself
        bd.text_page(tmp_path / "lig.pdf", ["Certified official file"], ligature_as=mapping)
        assert _run(tmp_path / "lig.pdf").result.text == "Certified official file"


@pytest.mark.parametrize("spec", [DocSpec(), cong_van()], ids=["quyet-dinh", "cong-van"])
def test_metadata_of_a_born_digital_document(tmp_path: Path, spec: DocSpec) -> None:
    path = tmp_path / "doc.pdf"
    made = bd.decision_pdf(path, spec, seal=True)
    r = _run(path).result
    src = SourceFile(path=str(path), source=path.name, sha256="0" * 64, size=path.stat().st_size,
                     kind=InputKind.PDF, page_count=1)
    doc = make_document(src, DocumentPlan(pages=(1,)), [r])
    values = doc.metadata.values()
    for name, expected in made["fields"].items():
        assert values[name] == expected, name
    assert not [x for x in doc.reasons if not x.startswith("no dossier code")]


def test_text_in_a_picture_on_the_page_is_ocrd_there(tmp_path: Path) -> None:
    path = tmp_path / "stamp.pdf"
    made = bd.decision_pdf(path, stamp="BẢN SAO ĐIỆN TỬ")
    r = _run(path).result
    ocrd = [w for w in r.words if w.conf < 100]
    assert " ".join(w.text for w in ocrd) == made["stamp"]
    assert min(w.top for w in ocrd) > 0.85 * r.height  # where the picture lies, under the text
    assert min(w.block for w in ocrd) > max(w.block for w in r.words if w.conf == 100)
    assert _squash(r.text) == _squash(" ".join([*made["lines"], made["stamp"]]))


@pytest.mark.slow
def test_a_scanned_pdf_still_goes_through_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    bd.image_only_pdf(path)
    r = _run(path).result
    assert r.words and r.mean_conf < 100 and all(w.conf < 100 for w in r.words)
    assert "QUYẾT ĐỊNH" in r.text


@pytest.mark.slow
def test_an_invisible_ocr_layer_is_ignored_and_the_scan_ocrd(tmp_path: Path) -> None:
    path = tmp_path / "layer.pdf"
    bd.scan_with_ocr_layer(path, layer=["TIIANH PHO DA NANG xyzzy", "CONG HOA xA HQI"])
    assert read_text_layer(path, 1, width_px=1654, height_px=2339) is None
    r = _run(path).result
    assert "xyzzy" not in r.text and "TIIANH" not in r.text
    assert "Kiến Xương" in r.text and all(w.conf < 100 for w in r.words)


def test_pages_whose_text_cannot_be_trusted_are_left_to_ocr(tmp_path: Path) -> None:
    # text in a legacy 8-bit font (TCVN3 ".VnTime"): codes mapped to Latin-1 look-alikes
    legacy = ["Céng hßa x· héi chñ nghÜa ViÖt Nam", "Quy Õt ®Þnh vÒ viÖc cÊp giÊy phÐp x©y dùng nhµ ë",
              "cho hé «ng NguyÔn V¨n An th«n §«ng x· B×nh Minh huyÖn KiÕn X­¬ng"]
    bd.text_page(tmp_path / "tcvn3.pdf", legacy * 2)
    assert read_text_layer(tmp_path / "tcvn3.pdf", 1, width_px=2481, height_px=3508) is None
    # a page shown turned (/Rotate 90 over upright content): the text runs down the page
    bd.text_page(tmp_path / "side.pdf", ["Trang này in nghiêng một góc chín mươi độ"] * 3)
    with pikepdf.open(tmp_path / "side.pdf", allow_overwriting_input=True) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(tmp_path / "side.pdf")
    assert read_text_layer(tmp_path / "side.pdf", 1, width_px=3508, height_px=2481) is None
    # invisible text (render mode 3) alone: nothing visible to read
    bd.text_page(tmp_path / "invisible.pdf", ["Trang này in nghiêng một góc chín mươi độ"] * 3, mode=3)
    assert read_text_layer(tmp_path / "invisible.pdf", 1, width_px=2481, height_px=3508) is None
    # the same text, upright and visible: read
    bd.text_page(tmp_path / "ok.pdf", ["Trang này in nghiêng một góc chín mươi độ"] * 3)
    layer = read_text_layer(tmp_path / "ok.pdf", 1, width_px=2481, height_px=3508)
    assert layer is not None and len(layer.words) == 27 and not layer.images


def test_a_scan_with_a_visible_signature_box_is_a_scan(tmp_path: Path) -> None:
    """A scanned page with a signing tool's visible text box stamped on it is not born-digital."""
    path = tmp_path / "signed-scan.pdf"
    bd.image_only_pdf(path)
    box = tmp_path / "box.pdf"
    bd.text_page(box, ["Ký bởi: Ủy ban nhân dân huyện Kiến Xương", "Thời gian ký: 15.06.2021 10:56:22 +07:00"])
    with pikepdf.open(path, allow_overwriting_input=True) as pdf, pikepdf.open(box) as stamp:
        pdf.pages[0].add_overlay(stamp.pages[0], pikepdf.Rectangle(300, 700, 580, 830))
        pdf.save(path)
    assert read_text_layer(path, 1, width_px=1654, height_px=2339) is None


def test_lines_come_in_reading_order_not_drawing_order(tmp_path: Path) -> None:
    """Word processors draw the page header (the page number) after the body: it is read first."""
    pd = bd.new_page()
    y = 120.0
    for ln in ("Điều 5. Tổ chức thực hiện", "Quyết định này có hiệu lực kể từ ngày ký."):
        y = pd.text(85, y, ln)
    pd.text(bd.A4_PT[0] / 2, 50, "2", center=True)
    bd.save([pd], tmp_path / "p2.pdf")
    r = _run(tmp_path / "p2.pdf").result
    assert r.text.splitlines() == ["2", "Điều 5. Tổ chức thực hiện", "Quyết định này có hiệu lực kể từ ngày ký."]
