"""The archive PDF: image + invisible text layer aligned with the words, PDF/A-2b declarations, small files."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pikepdf
import pypdfium2
import pytest

from digitize.page.pdf import encode_image, merge_pages, page_pdf
from digitize.page.tesseract.ocr import ocr_page
from digitize.samples.documents import DocSpec, render

DPI = 200


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, bytes, tuple]:
    img = np.asarray(render(DocSpec(), dpi=DPI).pages[0])
    ocr = ocr_page(img, dpi=DPI)
    return img, page_pdf(img, is_color=False, dpi=DPI, text_pdf=ocr.text_pdf), ocr.words


def test_text_layer_is_aligned_with_the_words_on_the_image(page):
    img, pdf, words = page
    h_px = img.shape[0]
    doc = pypdfium2.PdfDocument(merge_pages([pdf]))
    tp = doc[0].get_textpage()
    scale = 72 / DPI
    checked = 0
    for w in words:
        if len(w.text) < 4 or w.conf < 80:
            continue
        # the word's box on the image, in PDF points (origin bottom left)
        x0, x1 = w.left * scale, (w.left + w.width) * scale
        y0, y1 = (h_px - w.top - w.height) * scale, (h_px - w.top) * scale
        found = tp.get_text_bounded(left=x0 - 2, bottom=y0 - 2, right=x1 + 2, top=y1 + 2).strip()
        assert w.text in found, (w.text, found)
        checked += 1
    assert checked >= 20


def test_document_pdf_declares_pdfa_2b_and_embeds_everything(page, tmp_path):
    _img, pdf, _words = page
    out = merge_pages([pdf, pdf], title="Quyết định 123/QĐ-UBND")
    with pikepdf.open(io.BytesIO(out)) as doc:
        meta = doc.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert "/Filter" not in doc.Root.Metadata  # PDF/A: the XMP stream is not filtered
        intent = doc.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1" and int(intent.DestOutputProfile.N) == 3
        assert len(intent.DestOutputProfile.read_bytes()) > 300
        assert str(doc.docinfo["/Title"]) == "Quyết định 123/QĐ-UBND"
        assert not doc.is_encrypted and len(doc.trailer.ID) == 2
        assert len(doc.pages) == 2
        fonts = 0
        for pg in doc.pages:
            for xobj in pg.Resources.XObject.values():
                for f in xobj.get("/Resources", {}).get("/Font", {}).values():
                    for desc in (f.DescendantFonts[0] if "/DescendantFonts" in f else f,):
                        assert "/FontFile2" in desc.FontDescriptor or "/FontFile" in desc.FontDescriptor
                        fonts += 1
        assert fonts >= 2
    assert merge_pages([pdf, pdf], title="Quyết định 123/QĐ-UBND") == out  # deterministic
    if shutil.which("qpdf"):
        (tmp_path / "doc.pdf").write_bytes(out)
        proc = subprocess.run(["qpdf", "--check", str(tmp_path / "doc.pdf")], capture_output=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gray_page_stays_gray_bilevel_becomes_g4_colour_stays_colour():
    gray = np.full((300, 200), 230, np.uint8)
    gray[50:60, 20:180] = 30
    assert encode_image(gray, is_color=False)[1] == "image/jpeg"
    bilevel = np.where(gray > 128, 255, 0).astype(np.uint8)
    data, mime = encode_image(bilevel, is_color=False)
    assert mime == "image/tiff" and len(data) < 2000
    colour = np.dstack([gray, gray, gray])
    colour[100:150, 50:100] = (40, 40, 215)
    with pikepdf.open(io.BytesIO(page_pdf(colour, is_color=True, dpi=100, text_pdf=None))) as doc:
        (img,) = doc.pages[0].get_images().values()
        assert img.ColorSpace == "/DeviceRGB"
    with pikepdf.open(io.BytesIO(page_pdf(colour, is_color=False, dpi=100, text_pdf=None))) as doc:
        (img,) = doc.pages[0].get_images().values()
        assert img.ColorSpace == "/DeviceGray"
