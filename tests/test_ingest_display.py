"""Every page is read as a PDF viewer displays it: each placement (matrix rotation, skew, flip, /Rotate,
/UserUnit, crop box, strips, tiles, masks, text over a scan) and each compression gives the upright page."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitize.models import InputKind
from digitize.page.ingest import inspect, load_page
from digitize.page.pdfpage import load_pdf_page
from digitize.samples import pdfs

LIMITS = {"render_dpi": 300, "max_pixels": 10**8}
COMBOS = [(p, "flate") for p in pdfs.PLACEMENTS] + [("plain", e) for e in pdfs.ENCODINGS[1:]] + [
    ("ctm-rot90", "jbig2"), ("page-rotate90", "jbig2-globals"), ("ctm-rot270", "ccitt-g4"), ("ctm-skew3", "dct"),
    ("flip-v", "jpx"), ("strips", "ccitt-g4"), ("page-rotate90", "dct-cmyk-adobe"), ("user-unit", "jbig2"),
    ("crop-box", "flate-16bit")]


@pytest.fixture(scope="module")
def ref() -> np.ndarray:
    return pdfs.reference()


def _gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def likeness(img: np.ndarray, ref: np.ndarray, rows: float = 1.0) -> float:
    """Correlation of the two pages at a quarter of their size (1 = same page; a turned page gives ~0)."""
    size = (ref.shape[1] // 4, ref.shape[0] // 4)
    a = cv2.resize(_gray(img), size, interpolation=cv2.INTER_AREA).astype(float)
    b = cv2.resize(ref, size, interpolation=cv2.INTER_AREA).astype(float)
    keep = int(size[1] * rows)
    return float(np.corrcoef(a[:keep].ravel(), b[:keep].ravel())[0, 1])


@pytest.mark.parametrize("placement,encoding", COMBOS)
def test_pdf_page_reads_as_displayed(tmp_path: Path, ref: np.ndarray, placement: str, encoding: str) -> None:
    pdf = tmp_path / f"{placement}-{encoding}.pdf"
    pdfs.write_pdf(pdf, placement, encoding, ref)
    page = load_page(pdf, InputKind.PDF, 1, **LIMITS)
    h, w = page.image.shape[:2]
    assert abs(h - ref.shape[0]) <= 2 and abs(w - ref.shape[1]) <= 2
    assert page.dpi == pytest.approx(pdfs.DPI, rel=0.02)
    floor = 0.9 if encoding.startswith("jbig2") else 0.95  # poppler's MMR decoding leaves a few specks
    rows = 0.7 if placement == "text-and-image" else 1.0  # the bottom holds a line of PDF text instead
    assert likeness(page.image, ref, rows) > floor
    assert likeness(cv2.rotate(page.image, cv2.ROTATE_180), ref, rows) < 0.5  # the measure tells turned pages


@pytest.mark.parametrize("variant", pdfs.TIFF_VARIANTS)
def test_tiff_variant_reads_upright(tmp_path: Path, ref: np.ndarray, variant: str) -> None:
    tif = tmp_path / f"{variant}.tif"
    page_no = pdfs.write_tiff(tif, variant, ref)
    src = inspect(tif, tif.name, max_pages=10, **LIMITS)
    assert src.kind is InputKind.TIFF
    page = load_page(tif, InputKind.TIFF, page_no, **LIMITS)
    assert page.image.shape[:2] == ref.shape
    assert likeness(page.image, ref) > 0.97


def test_fast_path_only_for_the_trivial_page(tmp_path: Path, ref: np.ndarray) -> None:
    for placement, encoding, rendered in [("plain", "dct", False), ("user-unit", "flate", False),
                                          ("ctm-rot90", "dct", True), ("ctm-skew3", "flate", True),
                                          ("crop-box", "flate", True), ("soft-mask", "flate", True),
                                          ("text-and-image", "flate", True), ("plain", "flate-16bit", True)]:
        pdf = tmp_path / f"{placement}-{encoding}.pdf"
        pdfs.write_pdf(pdf, placement, encoding, ref)
        got = load_pdf_page(pdf, 1, **LIMITS)
        assert got.rendered is rendered, (placement, encoding)
    plain = load_pdf_page(tmp_path / "plain-dct.pdf", 1, **LIMITS)
    assert plain.image.shape == ref.shape  # the scan's own pixels


def test_jbig2_pages_are_never_lost_without_jbig2dec(tmp_path: Path, ref: np.ndarray,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """pikepdf needs the jbig2dec program for JBIG2; without it poppler renders the page."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pdftoppm",):
        os.symlink(f"/usr/bin/{tool}", bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    for rotate_placement in ("plain", "page-rotate90", "ctm-rot180", "ctm-rot270"):
        for enc in ("jbig2", "jbig2-globals"):
            pdf = tmp_path / f"{rotate_placement}-{enc}.pdf"
            pdfs.write_pdf(pdf, rotate_placement, enc, ref)
            page = load_page(pdf, InputKind.PDF, 1, **LIMITS)
            assert likeness(page.image, ref) > 0.9, (rotate_placement, enc)


def _ocr_text(img: np.ndarray) -> str:
    from digitize.page.tesseract.ocr import ocr_page

    return " ".join(ocr_page(_gray(img), dpi=pdfs.DPI, lang="vie").text.split())


@pytest.mark.slow
def test_text_read_equals_upright_plain_page(tmp_path: Path, ref: np.ndarray) -> None:
    """The OCR text of every placement and compression equals that of the page generated upright and plain."""
    expected = _ocr_text(ref)
    assert "Giấy chứng nhận" in expected
    worst = []
    for placement, encoding in COMBOS:
        pdf = tmp_path / f"{placement}-{encoding}.pdf"
        pdfs.write_pdf(pdf, placement, encoding, ref)
        text = _ocr_text(load_page(pdf, InputKind.PDF, 1, **LIMITS).image)
        if placement == "text-and-image":
            assert "Page 2" in text  # the PDF text line is read too
            continue
        worst.append((difflib.SequenceMatcher(None, expected, text).ratio(), placement, encoding))
    assert min(worst)[0] > 0.95, sorted(worst)[:3]
