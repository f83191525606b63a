"""Per-page preprocessing on generated pages: geometry, blank check, cleaning, quality figures."""

from __future__ import annotations

import numpy as np
import pytest

from digitize.errors import PageError
from digitize.page.preprocess import Prepared, dropout_gray, preprocess
from digitize.samples import pages as g

A4_RATIO = 297 / 210


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return g.render_page(300)


def _ratio(img: np.ndarray) -> float:
    h, w = img.shape[:2]
    return h / w


def _ink_rows(img: np.ndarray) -> np.ndarray:
    return np.flatnonzero((img < 128).sum(axis=1) > 3)


def assert_same_sheet(p: Prepared) -> None:
    """The OCR image and the stored image show the same sheet, each at its own resolution."""
    (oh, ow), (sh, sw) = p.ocr_image.shape[:2], p.store_image.shape[:2]
    assert p.store_resolution >= p.dpi
    assert ow / p.dpi == pytest.approx(sw / p.store_resolution, abs=1 / p.dpi)
    assert oh / p.dpi == pytest.approx(sh / p.store_resolution, abs=1 / p.dpi)


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
    oh, ow = p.store_image.shape
    assert abs(ow - w) < 0.03 * w and abs(oh - h) < 0.03 * h
    assert_same_sheet(p)
    for img in (p.ocr_image, p.store_image):
        edges = np.concatenate([img[:5].ravel(), img[-5:].ravel(), img[:, :5].ravel(), img[:, -5:].ravel()])
        assert np.percentile(edges, 5) > 150, "dark scanner border left on the page"


def test_punch_holes_uneven_light_and_faded_toner_are_cleaned(page: np.ndarray) -> None:
    scan = g.uneven_light(g.fade(g.punch_holes(page), ink=150), depth=0.5)
    p = preprocess(scan, dpi=300)
    img = p.ocr_image
    mm = p.dpi / 25.4
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
    assert_same_sheet(p)
    # red ring pixels (no black text there) vanish from the OCR image
    d = dropout_gray(np.array([[[40, 40, 215], [170, 60, 30], [20, 20, 20]]], np.uint8))
    assert d[0, 0] > 230 and d[0, 1] > 200 and d[0, 2] < 60


def test_gray_page_stays_gray(page: np.ndarray) -> None:
    import cv2

    p = preprocess(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), dpi=300)
    assert not p.is_color and p.store_image.ndim == 2
    assert_same_sheet(p)


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
    from digitize.page.preprocess import remove_rules, rule_mask

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
    from digitize.page.preprocess import remove_rules

    framed = g.skew(g.frame_and_table(page), 1.5)
    p = preprocess(framed, dpi=300, rules=True)
    h = p.ocr_image.shape[0]
    crop = p.ocr_image[h - round(90 * p.dpi / 25.4):, :]  # the table and the frame around it
    assert remove_rules(crop.copy(), p.dpi) == 0  # preprocess already took them out
    text = pytesseract.image_to_string(crop, lang="vie", config="--psm 6")
    assert "Tờ bản đồ" in text and "Diện tích" in text, text
    assert "|" not in text, text


# --- the fast paths give what the plain computations give ------------------------------------------


def test_histogram_percentiles_are_numpys() -> None:
    from digitize.page.orient import hist_percentiles, histogram

    rng = np.random.default_rng(0)
    for shape in ((1, 1), (3, 7), (50, 40), (400, 300)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        img[: shape[0] // 2] //= 3  # a lopsided distribution, with gaps
        qs = (0.0, 0.5, 10.0, 50.0, 99.0, 99.5, 100.0)
        assert hist_percentiles(histogram(img), *qs) == pytest.approx([np.percentile(img, q) for q in qs], abs=1e-9)


def test_area_factor_snaps_only_integer_reductions() -> None:
    from digitize.page.preprocess import _area_factor

    assert _area_factor(100 / 299.99999999999994) == 1 / 3
    assert _area_factor(150 / 300.00000000000006) == 0.5
    assert _area_factor(0.75) == 0.75 and _area_factor(1.0) == 1.0 and _area_factor(100 / 250) == 0.4


def _reference_clean_for_ocr(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The straightforward ``clean_for_ocr`` and ``sharpness``: np.percentile, stretch before the median."""
    import cv2

    h, w = gray.shape
    k = max(1.0, dpi / 50.0)
    sw, sh = max(8, round(w / k)), max(8, round(h / k))
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA)
    ksz = int(round(8.0 / 25.4 * dpi / k)) | 1
    bg = cv2.blur(cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (ksz, ksz))), (ksz, ksz))
    norm = cv2.divide(gray, cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR), scale=255)
    f = min(1.0, 150.0 / dpi)
    img = cv2.resize(norm, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 0.95 else norm
    img = cv2.medianBlur(img, 3).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3))
    contrast = max(40.0, float(np.percentile(img, 99.5)) - float(np.percentile(img, 0.5)))
    ridge = mag[(mag >= cv2.dilate(mag, np.ones((5, 5), np.uint8))) & (mag > 0.3 * contrast)]
    sharp = min(1.5, float(np.percentile(ridge, 50)) / 4.0 / contrast)
    ns = cv2.resize(norm, (sw * 2, sh * 2), interpolation=cv2.INTER_AREA)
    dark = ns[ns < 200]
    gain = min(3.0, max(1.0, 200.0 / max(1.0, 255.0 - float(np.percentile(dark, 10)))))
    if gain > 1.01:
        norm = cv2.LUT(norm, np.clip(255.0 - (255.0 - np.arange(256)) * gain, 0, 255).astype(np.uint8))
    return cv2.medianBlur(norm, 3), sharp


@pytest.mark.parametrize("dpi", [300, 200])
@pytest.mark.parametrize("faded", [True, False])
def test_clean_for_ocr_is_the_plain_computation(page: np.ndarray, dpi: int, faded: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Histogram percentiles, the stretch after the median, the quick ink check: the same image and figure."""
    import cv2

    from digitize.page.preprocess import clean_for_ocr

    def magnitude(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        exact = np.hypot(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
        if out is None:
            return exact
        out[...] = exact
        return out

    # cv2.magnitude is off by an ulp or not depending on where its arrays lie, which moves the ridges
    monkeypatch.setattr(cv2, "magnitude", magnitude)
    gray = g.uneven_light(page, 0.4)
    if faded:  # stretched; else the cheap copy shows black ink and the exact ink level is skipped
        gray = g.fade(gray, ink=120)
    if dpi != 300:
        gray = cv2.resize(gray, None, fx=dpi / 300, fy=dpi / 300, interpolation=cv2.INTER_AREA)
    gray = np.ascontiguousarray(gray[:-7, 5:])  # sizes no whole factor divides
    out, sharp = clean_for_ocr(gray, dpi)
    ref, ref_sharp = _reference_clean_for_ocr(gray, dpi)
    assert np.array_equal(out, ref)
    assert sharp == pytest.approx(ref_sharp, rel=1e-9)


@pytest.mark.parametrize("photo", [False, True])
def test_colour_warp_through_four_channels_is_exact(page: np.ndarray, photo: bool) -> None:
    import cv2

    from digitize.page.orient import Geometry
    from digitize.page.preprocess import _warp

    colour = g.red_seal(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), center=(1700, 1300))
    m = np.vstack([cv2.getRotationMatrix2D((400, 560), 2.3, 1.0), [0, 0, 1]])
    if photo:
        m[2, :2] = (2e-5, -1e-5)
    geo = Geometry(matrix=m, out_size=(790, 1120), photo=photo)
    out = _warp(colour, geo, 1 / 3, 1.0)
    assert np.array_equal(dropout_gray(out), dropout_gray(np.ascontiguousarray(out[:, :, :3])))
    full = np.diag([3.0, 3.0, 1.0]) @ m @ np.diag([1 / 3, 1 / 3, 1.0])
    kw = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REPLICATE}
    ref = (cv2.warpPerspective(colour, full, (2370, 3360), **kw) if photo
           else cv2.warpAffine(colour, full[:2], (2370, 3360), **kw))
    assert out.shape == (*ref.shape[:2], 4) and np.array_equal(out[:, :, :3], ref)


def test_sheet_hull_from_its_outline_is_the_hull_of_its_pixels() -> None:
    import cv2

    from digitize.page.orient import _hull

    rng = np.random.default_rng(3)
    mask = np.zeros((300, 220), np.uint8)
    cv2.fillPoly(mask, [np.array([[12, 20], [200, 5], [210, 280], [30, 295], [5, 150]], np.int32)], 255)
    mask[rng.random(mask.shape) < 0.05] = 0  # dark marks inside (the outline is what matters)
    mask[100:140, 0:3] = 0  # a notch in the side
    ref = cv2.convexHull(cv2.findNonZero(mask)).reshape(-1, 2).astype(np.float64)
    hull = _hull(mask)
    for deg in np.arange(-100, 100, 7.3):  # the crop box of every rotation is the same
        r = cv2.getRotationMatrix2D((110, 150), deg, 1.0)
        a, b = (r[:, :2] @ hull.T).T, (r[:, :2] @ ref.T).T
        assert np.allclose(a.min(axis=0), b.min(axis=0)) and np.allclose(a.max(axis=0), b.max(axis=0))


def test_labelling_falls_back_to_32_bit_labels() -> None:
    import cv2

    from digitize.page.orient import _components_with_stats, _labels_and_areas

    many = np.zeros((600, 600), np.uint8)
    many[::2, ::2] = 255  # 90,000 separate pixels: more labels than 16 bits hold
    few = cv2.dilate(many[:60, :60], np.ones((3, 3), np.uint8))
    for mask in (many, few):
        n, labels, stats = _components_with_stats(mask)
        ref = cv2.connectedComponentsWithStats(mask, connectivity=8)
        assert n == ref[0] and np.array_equal(labels, ref[1]) and np.array_equal(stats, ref[2])
        n, labels, area = _labels_and_areas(mask)
        ref_n, ref_labels = cv2.connectedComponents(mask, connectivity=4)
        assert n == ref_n and np.array_equal(labels, ref_labels)
        assert np.array_equal(area, np.bincount(ref_labels.ravel(), minlength=n))


def test_light_edge_shortcut_agrees_with_the_full_blur() -> None:
    import cv2

    from digitize.page.orient import _edge_stays_light

    rng = np.random.default_rng(5)
    seen = set()
    for i in range(40):
        h, w = rng.integers(80, 400, 2)
        img = np.full((h, w), 235, np.uint8)
        for _ in range(rng.integers(0, 4)):  # dark blots, some near or on the edge
            cv2.circle(img, (int(rng.integers(-20, w + 20)), int(rng.integers(-20, h + 20))),
                       int(rng.integers(2, 30)), int(rng.integers(0, 200)), -1)
        if i % 3 == 0:
            img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        sigma = float(rng.uniform(1, 5))
        ksize = int(round(sigma * 6 + 1)) | 1
        full = cv2.GaussianBlur(img, (0, 0), sigma)
        expected = min(full[0].min(), full[-1].min(), full[:, 0].min(), full[:, -1].min()) >= 128
        assert _edge_stays_light(img, sigma, ksize) == expected
        seen.add(expected)
    assert seen == {True, False}


def test_line_direction_counts_on_the_text_block_only() -> None:
    import cv2

    from digitize.page.orient import _lines_vertical

    def reference(glyphs: np.ndarray, mm: float) -> bool | None:
        k = max(2, int(round(mm)))
        nh = cv2.connectedComponents(cv2.dilate(glyphs, np.ones((1, k), np.uint8)), connectivity=8)[0]
        nv = cv2.connectedComponents(cv2.dilate(glyphs, np.ones((k, 1), np.uint8)), connectivity=8)[0]
        ratio = nv / max(1, nh)
        return False if ratio > 1.25 else True if ratio < 0.8 else None

    rng = np.random.default_rng(7)
    for _ in range(12):
        glyphs = np.zeros((300, 240), np.uint8)
        for _ in range(rng.integers(20, 200)):  # letters, some cut by the image edge
            x, y = int(rng.integers(-5, 240)), int(rng.integers(-5, 300))
            glyphs[max(0, y):y + int(rng.integers(2, 12)), max(0, x):x + int(rng.integers(2, 8))] = 255
        if rng.random() < 0.5:
            glyphs = np.ascontiguousarray(glyphs.T)
        mm = float(rng.uniform(2, 6))
        assert _lines_vertical(glyphs, mm) == reference(glyphs, mm)


def test_known_line_direction_gives_the_searched_result(page: np.ndarray) -> None:
    import cv2

    from digitize.page.orient import _orientation_and_skew

    small = cv2.resize(g.skew(page, 3.1), None, fx=1 / 3, fy=1 / 3, interpolation=cv2.INTER_AREA)
    for img in (small, np.ascontiguousarray(np.rot90(small))):
        ys, xs = np.nonzero(img < 128)
        mm = 100 / 25.4
        searched = _orientation_and_skew(xs.astype(np.float32), ys.astype(np.float32), mm, None)
        told = _orientation_and_skew(xs.astype(np.float32), ys.astype(np.float32), mm, searched[0] in (90, 270))
        assert told == searched


def test_fine_scan_of_normal_print_is_read_at_ocr_dpi_and_stored_at_its_own() -> None:
    from digitize.page.preprocess import OCR_DPI

    p = preprocess(g.gaussian_noise(g.render_page(300, pt=13.0), 4), dpi=300)
    assert p.dpi == pytest.approx(OCR_DPI, rel=0.01)
    assert p.store_resolution == 300
    assert p.store_image.shape == pytest.approx((g.a4_size(300)[1], g.a4_size(300)[0]), abs=2)  # deskew rounding
    assert_same_sheet(p)
    # small print keeps more pixels: its letters would come out too small at OCR_DPI
    small = preprocess(g.gaussian_noise(g.render_page(300, pt=9.0), 4), dpi=300)
    assert small.dpi > OCR_DPI + 20
    # a 200-dpi scan is read as it is
    assert preprocess(g.render_page(200), dpi=200).dpi == 200


def test_ocr_resolution_follows_letter_size() -> None:
    from digitize.page.preprocess import LETTER_PX, OCR_DPI, ocr_resolution

    assert ocr_resolution(300, 0.0) == 300  # letters not measured: keep the scan's resolution
    assert ocr_resolution(200, 3.0) == 200  # never upscale here, never below the scan
    assert ocr_resolution(300, 3.5) == OCR_DPI  # large print: not below OCR_DPI
    mid = LETTER_PX * 25.4 / 2.5
    assert ocr_resolution(300, 2.5) == pytest.approx(mid) and OCR_DPI < mid < 300
    assert ocr_resolution(300, 2.2) == 300  # within 10% of the scan: not worth the blur
    assert ocr_resolution(600, 2.2) == pytest.approx(LETTER_PX * 25.4 / 2.2)
