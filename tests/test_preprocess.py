"""Per-page preprocessing on generated pages: geometry, blank check, cleaning, quality figures."""

from __future__ import annotations

import numpy as np
import pytest

from digitize.errors import PageError
from digitize.preprocess import Prepared, dropout_gray, preprocess
from tests.gen import pages as g

A4_RATIO = 297 / 210


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return g.render_page(300)


def _ratio(img: np.ndarray) -> float:
    h, w = img.shape[:2]
    return h / w


def _ink_rows(img: np.ndarray) -> np.ndarray:
    return np.flatnonzero((img < 128).sum(axis=1) > 3)


@pytest.mark.parametrize("deg", [-9.0, -4.3, -0.8, 1.7, 6.2])
def test_known_skew_is_recovered(page: np.ndarray, deg: float) -> None:
    p = preprocess(g.gaussian_noise(g.skew(page, deg), 6), dpi=300)
    assert p.quality.rotation == 0
    assert abs(p.quality.skew_deg - deg) <= 0.3, p.quality.skew_deg
    # straightened: the first text line is one short run of rows (skewed, it would smear over ~100+)
    rows = _ink_rows(p.ocr_image)
    gaps = np.flatnonzero(np.diff(rows) > 1)
    assert rows[gaps[0]] - rows[0] < 75


@pytest.mark.parametrize("ccw", [90, 180, 270])
def test_known_rotation_is_undone_exactly(page: np.ndarray, ccw: int) -> None:
    scan = g.rotate90(g.skew(page, 1.2), ccw)
    p = preprocess(scan, dpi=300)
    assert p.quality.rotation == ccw  # clockwise turn applied == ccw turn the scan had
    assert abs(p.quality.skew_deg - 1.2) <= 0.3
    assert _ratio(p.ocr_image) > 1.3  # portrait again
    # upright: the header (dense text) is in the top part, the empty bottom third stays empty
    h = p.ocr_image.shape[0]
    rows = _ink_rows(p.ocr_image)
    assert rows[0] < h * 0.15 and rows[-1] < h * 0.75


def test_sparse_upside_down_page(page: np.ndarray) -> None:
    """A page with only a few lines (weak own cues) is still turned right (OSD fallback)."""
    sparse = g.render_page(300, body=g.BODY[-2:], header=False)
    p = preprocess(g.rotate90(sparse, 180), dpi=300)
    assert p.quality.rotation == 180


def test_blank_page_is_found() -> None:
    p = preprocess(g.blank_page(300, seed=1, bleed=True), dpi=300)
    assert p.quality.blank
    assert p.ocr_image.shape == (g.a4_size(300)[1], g.a4_size(300)[0])


def test_blank_page_with_border_and_speckles_is_blank() -> None:
    scan = g.salt_pepper(g.speckle(g.black_border(g.blank_page(200, seed=2), dpi=200), 400, dpi=200), 0.003)
    p = preprocess(scan, dpi=200)
    assert p.quality.blank and p.quality.border


def test_near_blank_page_with_one_short_line_is_not_blank() -> None:
    p = preprocess(g.gaussian_noise(g.render_short_line(300), 6), dpi=300)
    assert not p.quality.blank
    assert len(_ink_rows(p.ocr_image)) > 20


def test_black_border_is_cropped(page: np.ndarray) -> None:
    scan = g.skew(g.black_border(page, mm=10, seed=3), -2.5, fill=18)  # the sheet lies askew on the dark lid
    p = preprocess(scan, dpi=300)
    assert p.quality.border
    w, h = g.a4_size(300)
    oh, ow = p.ocr_image.shape
    assert abs(ow - w) < 0.03 * w and abs(oh - h) < 0.03 * h
    for img in (p.ocr_image, p.store_image):
        edges = np.concatenate([img[:5].ravel(), img[-5:].ravel(), img[:, :5].ravel(), img[:, -5:].ravel()])
        assert np.percentile(edges, 5) > 150, "dark scanner border left on the page"


def test_punch_holes_uneven_light_and_faded_toner_are_cleaned(page: np.ndarray) -> None:
    scan = g.uneven_light(g.fade(g.punch_holes(page), ink=150), depth=0.5)
    p = preprocess(scan, dpi=300)
    img = p.ocr_image
    mm = 300 / 25.4
    h = img.shape[0]
    hole = img[round(h / 2 + 40 * mm) - 20: round(h / 2 + 40 * mm) + 20, round(12 * mm) - 20: round(12 * mm) + 20]
    assert hole.min() > 200, "punch hole still dark"
    paper = img[img > 128]
    assert paper.mean() > 240 and np.percentile(img[-400:-100, 100:-100], 1) > 200  # flat, no shadow left
    assert np.percentile(scan, 1) > 120 and np.percentile(img, 1) < 80  # faded ink made dark again


def test_colour_page_keeps_colour_and_drops_seal_ink(page: np.ndarray) -> None:
    seal = g.red_seal(page, center=(1700, 1300))
    seal = g.blue_signature(seal, center=(1700, 1400))
    p = preprocess(seal, dpi=300)
    assert p.is_color and p.store_image.ndim == 3 and p.ocr_image.ndim == 2
    assert p.store_image.shape[:2] == p.ocr_image.shape[:2]
    # red ring pixels (no black text there) vanish from the OCR image
    d = dropout_gray(np.array([[[40, 40, 215], [170, 60, 30], [20, 20, 20]]], np.uint8))
    assert d[0, 0] > 230 and d[0, 1] > 200 and d[0, 2] < 60


def test_gray_page_stays_gray(page: np.ndarray) -> None:
    import cv2

    p = preprocess(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), dpi=300)
    assert not p.is_color and p.store_image.ndim == 2
    assert p.store_image.shape == p.ocr_image.shape


def test_red_seal_over_text_still_reads(page: np.ndarray) -> None:
    pytesseract = pytest.importorskip("pytesseract")
    mm = 300 / 25.4
    # the seal sits on the lines "Điều 1 ..." / "địa chỉ thôn Đồng Tâm ..."
    scan = g.gaussian_noise(g.red_seal(page, center=(round(95 * mm), round(118 * mm))), 5)
    scan = g.skew(scan, 2.0, fill=255)
    p = preprocess(scan, dpi=300)
    text = pytesseract.image_to_string(p.ocr_image, lang="vie", config="--psm 6")
    for words in ("Nguyễn Văn Bình", "thôn Đồng Tâm", "Cấp Giấy chứng nhận"):
        assert words in text, text


def test_low_dpi_and_blur_are_reported(page: np.ndarray) -> None:
    import cv2

    low = cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    q = preprocess(low, dpi=150).quality
    assert any(i.startswith("dpi 150 < 200") for i in q.issues)

    blurred = preprocess(g.blur(page, 3.5), dpi=300).quality
    sharp = preprocess(g.gaussian_noise(page, 5), dpi=300).quality
    assert any(i.startswith("blurred") for i in blurred.issues), blurred
    assert sharp.issues == (), sharp
    assert sharp.blur > 2 * blurred.blur
    assert sharp.dpi == 300 and not sharp.blank and 0 < sharp.ink_ratio < 0.2


def test_upscales_low_resolution_for_ocr(page: np.ndarray) -> None:
    import cv2

    low = preprocess(cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), dpi=150)
    assert low.dpi == pytest.approx(300, rel=0.02)
    assert low.quality.dpi == 150
    assert low.ocr_image.shape[0] == pytest.approx(page.shape[0], rel=0.03)
    # 200 dpi reads as well as 300 once cleaned (measured), so it is left at its own resolution
    p200 = preprocess(cv2.resize(page, None, fx=2 / 3, fy=2 / 3, interpolation=cv2.INTER_AREA), dpi=200)
    assert p200.dpi == 200


def test_phone_photo_is_rectified(page: np.ndarray) -> None:
    photo = g.gaussian_noise(g.perspective_photo(g.uneven_light(page, 0.3), seed=4), 4)
    p = preprocess(photo, dpi=0)
    assert p.quality.rotation == 0 and p.quality.border
    assert _ratio(p.ocr_image) == pytest.approx(A4_RATIO, rel=0.05)
    # the desk is gone: the rim of the rectified page is paper
    img = p.ocr_image
    assert np.percentile(np.concatenate([img[:8].ravel(), img[-8:].ravel()]), 10) > 150


def test_bad_input_is_a_page_error() -> None:
    with pytest.raises(PageError):
        preprocess(np.zeros((10, 10), np.float32), dpi=300)
    with pytest.raises(PageError):
        preprocess(np.zeros((4, 4), np.uint8), dpi=300)


def test_prepared_is_frozen(page: np.ndarray) -> None:
    p = preprocess(page, dpi=300)
    assert isinstance(p, Prepared)
    with pytest.raises(AttributeError):
        p.dpi = 1  # type: ignore[misc]


def test_table_rules_and_frames_are_found_and_text_is_not(page: np.ndarray) -> None:
    from digitize.preprocess import remove_rules, rule_mask

    assert not rule_mask(page, 300).any()  # plain text has no rules
    framed = g.frame_and_table(page)
    drawn = (framed < 128) & ~(page < 128)  # the rules, the frame and the table's text
    mask = rule_mask(framed, 300) > 0
    text = page < 128
    assert (mask & text).sum() < 0.002 * text.sum()  # letters are left alone
    cleaned = framed.copy()
    n = remove_rules(cleaned, 300)
    assert n > 0
    left = (cleaned < 128) & drawn
    # what remains of the drawing is the table's text, a small fraction of the rules' ink
    assert left.sum() < 0.15 * drawn.sum()


def test_tesseract_reads_a_ruled_table_after_rule_removal(page: np.ndarray) -> None:
    pytesseract = pytest.importorskip("pytesseract")
    from digitize.preprocess import remove_rules

    framed = g.skew(g.frame_and_table(page), 1.5)
    p = preprocess(framed, dpi=300, rules=True)
    h = p.ocr_image.shape[0]
    crop = p.ocr_image[h - round(90 * 300 / 25.4):, :]  # the table and the frame around it
    assert remove_rules(crop.copy(), 300) == 0  # preprocess already took them out
    text = pytesseract.image_to_string(crop, lang="vie", config="--psm 6")
    assert "Tờ bản đồ" in text and "Diện tích" in text, text
    assert "|" not in text, text
