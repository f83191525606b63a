"""Pages too large to decode whole within a worker's memory are decoded reduced (issue 16), and the
strip-wise conversion of a decoded image gives the same pixels as converting it whole."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image

from digitize.models import InputKind
from digitize.page import ingest
from digitize.page.ingest import load_page, to_array
from digitize.page.pdfpage import load_pdf_page

LOAD = {"max_pixels": 200_000_000, "render_dpi": 300}


def _page(w: int = 1600, h: int = 1200) -> np.ndarray:
    """A BGR page with black lines and a red patch."""
    img = np.full((h, w, 3), 235, np.uint8)
    img[::40] = 20
    img[100:300, 100:300] = (40, 40, 220)
    return img


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_a_colour_page_over_the_budget_is_decoded_reduced_with_its_dpi(tmp_path: Path, monkeypatch, fmt: str) -> None:
    monkeypatch.setattr(ingest, "DECODE_PIXELS", 500_000)  # 1600x1200 = 1.92 MP: reduced by 2 is 0.48 MP
    path = tmp_path / f"big.{fmt.lower()}"
    Image.fromarray(_page()[:, :, ::-1]).save(path, format=fmt, dpi=(400, 400))
    page = load_page(path, {"JPEG": InputKind.JPEG, "PNG": InputKind.PNG, "TIFF": InputKind.TIFF}[fmt], 1, **LOAD)
    assert page.image.shape == (600, 800, 3)
    assert page.dpi == pytest.approx(200, abs=0.1)
    assert page.image[100, 100, 2] > 150 and page.image[100, 100, 0] < 100  # still red (BGR), not gray


def test_a_gray_page_gets_twice_the_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "DECODE_PIXELS", 1_000_000)
    path = tmp_path / "gray.png"
    Image.fromarray(_page()[:, :, 1]).save(path, dpi=(300, 300))  # 1.92 MP gray: within 2 MP
    assert load_page(path, InputKind.PNG, 1, **LOAD).image.shape == (1200, 1600)
    Image.fromarray(np.pad(_page()[:, :, 1], ((0, 400), (0, 0)), constant_values=235)).save(path, dpi=(300, 300))
    page = load_page(path, InputKind.PNG, 1, **LOAD)  # 2.56 MP: reduced
    assert page.image.shape == (800, 800) and page.dpi == pytest.approx(150, abs=0.1)


def test_a_later_tiff_page_over_the_budget_is_reduced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "DECODE_PIXELS", 500_000)
    path = tmp_path / "two.tif"
    first = Image.new("RGB", (400, 300), "white")
    first.save(path, save_all=True, append_images=[Image.fromarray(_page()[:, :, ::-1])], dpi=(400, 400))
    page = load_page(path, InputKind.TIFF, 2, **LOAD)
    assert page.image.shape == (600, 800, 3)


def test_a_colour_pdf_page_over_the_budget_is_rendered_within_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "DECODE_PIXELS", 500_000)
    ok, jpg = cv2.imencode(".jpg", _page())
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(1600 * 72 / 400, 1200 * 72 / 400))
    im = pikepdf.Stream(pdf, jpg.tobytes(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1600,
                        Height=1200, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                        Filter=pikepdf.Name.DCTDecode)
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q 288 0 0 216 0 0 cm /Im0 Do Q")
    pdf.save(tmp_path / "big.pdf")
    got = load_pdf_page(tmp_path / "big.pdf", 1, **LOAD)  # the direct path: its JPEG decoded at half size
    assert got.image.shape == (600, 800, 3) and got.dpi == pytest.approx(200, abs=0.5)
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q 0 216 -288 0 288 0 cm /Im0 Do Q")  # turned: rendered
    pdf.pages[0].MediaBox = [0, 0, 288, 288]
    pdf.save(tmp_path / "turned.pdf")
    got = load_pdf_page(tmp_path / "turned.pdf", 1, **LOAD)
    assert got.rendered and got.image.shape[0] * got.image.shape[1] <= 1.01 * 500_000  # not 1600x1600


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F"])
def test_strip_wise_conversion_gives_the_same_pixels(mode: str) -> None:
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 255, (700, 300, 3), np.uint8))  # more rows than one strip
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65535, (700, 300), np.uint16))
        want = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
    else:
        im = base.convert(mode)
        whole = im.convert("L" if mode in ("1", "L", "I", "F") else "RGB") if mode not in ("RGBA", "LA") else \
            im.convert("RGBA").convert("RGB")
        want = np.asarray(whole) if whole.mode == "L" else cv2.cvtColor(np.asarray(whole), cv2.COLOR_RGB2BGR)
    assert np.array_equal(to_array(im), want)


def test_heavy_pages_are_found_from_the_headers(tmp_path: Path) -> None:
    tif = tmp_path / "mixed.tif"
    Image.new("1", (2480, 3508), 1).save(tif, save_all=True, compression="group4",
                                          append_images=[Image.new("1", (7000, 6000), 1)])
    assert ingest.heavy_pages(tif, InputKind.TIFF) == {2}  # 42 MP: runs alone
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))  # A4: 35 MP at 600 dpi
    pdf.add_blank_page(page_size=(1191, 1684))  # A2
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[2].obj["/UserUnit"] = 2.0  # twice as large as its box says
    pdf.save(tmp_path / "sizes.pdf")
    assert ingest.heavy_pages(tmp_path / "sizes.pdf", InputKind.PDF) == {2, 3}
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n")
    assert ingest.heavy_pages(tmp_path / "bad.pdf", InputKind.PDF) is None  # unknown: every page alone
