"""Reading QR codes and Code128 barcodes on generated pages, damaged as scanners and phones damage them."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import zxingcpp

from digitize.models import Code
from digitize.page.codes import code_regions, read_codes
from digitize.samples import pages as P
from digitize.samples import sheets as G

CODE = "000.00.15.H56-241126-0222"
NEW = "H26.107.01-260203-010023"


def _damaged(img: np.ndarray, how: str) -> np.ndarray:
    if how == "skew+noise":
        return G.degrade(img, skew_deg=3.5, noise=12, seed=2)
    if how == "rot90":
        return G.degrade(img, rotate=90, skew_deg=-2, noise=8, seed=3)
    if how == "rot180+faded":
        return G.degrade(img, rotate=180, faded=True, noise=8, seed=4)
    if how == "uneven+faded":
        return P.uneven_light(P.fade(img, 170), 0.5)
    if how == "jpeg+salt":
        return P.salt_pepper(P.jpeg(img, 25), 0.01)
    raise AssertionError(how)


HOW = ["skew+noise", "rot90", "rot180+faded", "uneven+faded", "jpeg+salt"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("dpi", [150, 300])
def test_separator_qr_is_read_exactly(how: str, dpi: int) -> None:
    img = _damaged(G.separator(NEW, dpi).image, how)
    assert Code("QRCode", NEW) in read_codes(img)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_receipt_code128_is_read_exactly(how: str, dpi: int) -> None:
    img = _damaged(G.receipt(CODE, dpi).image, how)
    assert Code("Code128", CODE) in read_codes(img)


def test_phone_photo_of_a_separator() -> None:
    page = G.separator(CODE, 200).image
    photo = P.jpeg(P.blur(P.uneven_light(P.perspective_photo(P.skew(page, 5), seed=3)), 1.0), 60)
    assert photo.ndim == 3  # BGR input is accepted
    assert Code("QRCode", CODE) in read_codes(photo)


def test_low_resolution_scan() -> None:
    page = G.separator(CODE, 100).image  # A4 at 100 dpi
    assert Code("QRCode", CODE) in read_codes(P.gaussian_noise(page, 6))


def test_foreign_qr_is_returned_as_is() -> None:
    url = "https://dichvucong.gov.vn/tra-cuu?ma=ABC-123"
    codes = read_codes(G.degrade(G.document_first(200, qr_payload=url).image, noise=6))
    assert codes == (Code("QRCode", url),)


def test_pages_without_codes_give_nothing() -> None:
    """(Their speed is measured by scripts/bench_stages.py, "read codes", not asserted here.)"""
    pages = [G.degrade(G.continuation(2, 300).image, skew_deg=2, noise=10, seed=1),
             G.degrade(G.blank(300).image, noise=8, seed=5),
             G.degrade(G.document_first(300).image, skew_deg=-1.5, noise=10, seed=6)]
    for p in pages:
        assert read_codes(p) == ()


def test_input_checks() -> None:
    with pytest.raises(ValueError):
        read_codes(np.zeros((10, 10), np.float32))
    gray = G.separator(CODE, 150).image
    assert read_codes(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)) == read_codes(gray)


# --- the gate of the retries ---------------------------------------------------------------------------

# Receipts the first pass alone cannot read: only the retries find their barcodes.
HARD = [("skew+noise", 150), ("uneven+faded", 150), ("uneven+faded", 200), ("uneven+faded", 300), ("jpeg+salt", 300)]


def _ink_box(img: np.ndarray, top_mm: float, bottom_mm: float, dpi: int) -> tuple[int, int, int, int]:
    """Box (x, y, w, h) of the ink between two heights of a clean page."""
    y0, y1 = round(top_mm * dpi / 25.4), round(bottom_mm * dpi / 25.4)
    cols = np.flatnonzero(img[y0:y1].min(axis=0) < 128)
    return int(cols[0]), y0, int(cols[-1] - cols[0] + 1), y1 - y0


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize(("how", "dpi"), HARD)
def test_receipts_the_first_pass_misses_are_retried(how: str, dpi: int) -> None:
    clean = G.receipt(CODE, dpi).image
    regions = code_regions(_damaged(clean, how))
    assert regions
    if how != "skew+noise":  # the other damages leave every pixel where it was
        bars = _ink_box(clean, 37, 46, dpi)  # the barcode is printed 36 mm from the top, ~10 mm tall
        assert any(_overlaps(r, bars) for r in regions), (regions, bars)


def _id_photo(img: np.ndarray, x_mm: float, y_mm: float, dpi: int, *, seed: int = 0) -> np.ndarray:
    """A 30 x 40 mm colour ID photo pasted on the page (BGR): backdrop, hair with strands, face, jacket, collar."""
    rng = np.random.default_rng(seed)
    out = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
    mm = dpi / 25.4
    w, h = round(30 * mm), round(40 * mm)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2, h * 0.42
    hair = ((xx - cx) / (0.34 * w)) ** 2 + ((yy - cy + 0.06 * h) / (0.3 * h)) ** 2 < 1
    face = ((xx - cx) / (0.26 * w)) ** 2 + ((yy - cy) / (0.27 * h)) ** 2 < 1
    jacket = (yy > 0.72 * h) & (np.abs(xx - cx) < (0.2 + (yy / h - 0.72) * 1.4) * w)
    photo = np.empty((h, w, 3), np.float32)
    photo[:] = (235, 200, 150)
    photo[hair] = (30, 35, 40)
    shade = 1 - 0.25 * ((xx - cx) / (0.26 * w)) ** 2
    photo[face] = np.array([150, 175, 215], np.float32) * shade[face][:, None]
    photo[jacket] = (60, 50, 45)
    photo[jacket & (np.abs(xx - cx) < 0.08 * w) & (yy < 0.85 * h)] = (240, 240, 240)
    for _ in range(300):  # strands of hair
        a, r = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.34) * w
        p0 = (round(cx + r * math.cos(a)), round(cy - 0.06 * h + 1.1 * r * math.sin(a)))
        p1 = (round(p0[0] + rng.normal(0, 0.04 * w)), round(p0[1] + rng.normal(0, 0.05 * h)))
        if all(0 <= x < w and 0 <= y < h and hair[y, x] and not face[y, x] for x, y in (p0, p1)):
            cv2.line(photo, p0, p1, (70, 75, 85), 1)
    for dx in (-0.1, 0.1):  # eyes and brows
        cv2.ellipse(photo, (round(cx + dx * w), round(cy - 0.03 * h)), (round(0.04 * w), round(0.015 * h)), 0, 0, 360,
                    (40, 40, 50), -1)
        cv2.line(photo, (round(cx + (dx - 0.05) * w), round(cy - 0.07 * h)),
                 (round(cx + (dx + 0.05) * w), round(cy - 0.07 * h)), (40, 40, 40), max(1, round(0.6 * mm)))
    cv2.ellipse(photo, (round(cx), round(cy + 0.12 * h)), (round(0.07 * w), round(0.02 * h)), 0, 0, 360,
                (90, 90, 160), -1)  # mouth
    photo = cv2.GaussianBlur(photo + rng.normal(0, 6, photo.shape).astype(np.float32), (0, 0), 0.1 * mm)
    x0, y0 = round(x_mm * mm), round(y_mm * mm)
    out[y0:y0 + h, x0:x0 + w] = np.clip(photo, 0, 255).astype(np.uint8)
    return out


def _photo_seal_page(dpi: int) -> np.ndarray:
    """A decision with an ID photo, a red seal and a blue signature over the signer's block, as a JPEG scan."""
    mm = dpi / 25.4
    page = _id_photo(P.render_page(dpi), 25, 200, dpi)
    page = P.red_seal(page, (round(150 * mm), round(245 * mm)), dpi)
    return P.jpeg(P.blue_signature(page, (round(150 * mm), round(255 * mm)), dpi), 80)


def _table_page(dpi: int) -> np.ndarray:
    """A decision in a certificate's double frame, with a ruled table of figures, scanned with noise."""
    return G.degrade(P.frame_and_table(P.render_page(dpi), dpi, rows=5), noise=8, seed=7)


@pytest.mark.parametrize("dpi", [200, 300])
def test_text_page_with_a_table_is_not_retried(dpi: int) -> None:
    assert code_regions(_table_page(dpi)) == []


@pytest.mark.parametrize("dpi", [200, 300])
def test_page_with_a_photo_a_seal_and_a_signature_is_not_retried(dpi: int) -> None:
    assert code_regions(_photo_seal_page(dpi)) == []


def test_pages_without_codes_are_not_retried() -> None:
    pages = [G.degrade(G.continuation(2, 300).image, skew_deg=2, noise=10, seed=1),
             G.degrade(G.blank(300).image, noise=8, seed=5),
             G.degrade(G.document_first(200).image, skew_deg=-1.5, noise=10, seed=6)]
    for p in pages:
        assert code_regions(p) == []


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_datamatrix_turned_on_the_page_is_read(rotate: int) -> None:
    """The first pass does not turn its search by 90 degrees; the gate sends such a code to the retries."""
    symbol = zxingcpp.create_barcode(CODE, zxingcpp.BarcodeFormat.DataMatrix)
    dm = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=3, add_quiet_zones=True), np.uint8)
    page = G.continuation(2, 200).image
    y, x = round(180 * 200 / 25.4), round(40 * 200 / 25.4)
    page[y:y + dm.shape[0], x:x + dm.shape[1]] = dm
    img = G.degrade(page, rotate=rotate, noise=6, seed=8)
    assert Code("DataMatrix", CODE) in read_codes(img)
