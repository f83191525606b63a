"""Reading QR codes and Code128 barcodes on generated pages, damaged as scanners and phones damage them."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from digitize.codes import read_codes
from digitize.models import Code
from tests.gen import gen_sheets as G
from tests.gen import pages as P

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


def test_pages_without_codes_give_nothing_quickly() -> None:
    pages = [G.degrade(G.continuation(2, 300).image, skew_deg=2, noise=10, seed=1),
             G.degrade(G.blank(300).image, noise=8, seed=5),
             G.degrade(G.document_first(300).image, skew_deg=-1.5, noise=10, seed=6)]
    t0 = time.perf_counter()
    for p in pages:
        assert read_codes(p) == ()
    per_page = (time.perf_counter() - t0) / len(pages)
    # A generous bound (the machine may be shared): OCR of such a page takes several seconds.
    assert per_page < 3.0, f"{per_page * 1000:.0f} ms per code-less page"


def test_input_checks() -> None:
    with pytest.raises(ValueError):
        read_codes(np.zeros((10, 10), np.float32))
    gray = G.separator(CODE, 150).image
    assert read_codes(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)) == read_codes(gray)
