"""Per-page image preprocessing: upright, deskewed, border-cropped, cleaned images plus scan-quality figures.

``preprocess(image, dpi=...)`` is the one entry point. All analysis (blank check, page outline,
orientation, skew) runs on a small copy of the page (~``ANALYSIS_DPI``); the full-resolution image is
touched by one geometric warp and a handful of cheap point/filter operations, so the stage costs a small
fraction of a Tesseract run.

Two images of the same sheet come out: ``ocr_image`` (gray, red/blue ink dropped out, light flattened,
faded toner strengthened, speckles removed, at the resolution Tesseract reads best: see
``ocr_resolution``) and ``store_image`` (what the archive keeps, at the scan's resolution: colour when
the page carries colour). OCR word boxes hold on the stored image once scaled by the two resolutions.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from digitize.errors import PageError
from digitize.models import Quality
from digitize.page.orient import Geometry, find_geometry, hist_percentiles, histogram

log = logging.getLogger(__name__)

ANALYSIS_DPI = 100.0  # resolution of the copy on which every decision is made
TARGET_DPI = 300.0  # pages below UPSCALE_BELOW dpi are upscaled to this for OCR
UPSCALE_BELOW = 180.0  # measured on the dev corpus: 140-dpi photos read better at 300, 200-dpi scans do not
# Finer scans are read at a resolution set by their letter size: Tesseract reads a 300-dpi page of
# 13-14 pt text as well at 225 dpi (dev corpus: 373 vs 449 character errors on 28 pages) for 13% less
# CPU; 200-dpi scans read worse below 200. So never below OCR_DPI, and small print keeps more pixels.
OCR_DPI = 225.0
LETTER_PX = 25.0  # wanted median letter-blob height (as measured on the analysis copy) in OCR pixels
MIN_DPI = 200.0  # Công văn 7197: scans below this are advised for rescan
BLUR_MIN = 0.5  # sharpness below this (see ``sharpness``) reads badly: advise a rescan
UNKNOWN_DPI_A4_LONG_IN = 297 / 25.4
OSD_DPI = 150.0  # photos without resolution: assume the page is A4
STRETCH_ABOVE = 255.0 - 200.0 / 1.01  # ink lighter than this (~57) is stretched (``_ink_gain`` above 1.01)
INK_QUICK_MARGIN = 15.0  # a whole-factor copy lands within ~5 levels of the exact one (dev corpus: 0-5)
INK_QUICK_MIN_PX = 2000  # ... given this many dark pixels to take a percentile of
BGRA_MAX_PIXELS = 40_000_000  # larger colour pages are warped as BGR (see ``_warp``): memory before speed
BAND_ROWS = 512  # colour planes of pages above BGRA_MAX_PIXELS are worked this many rows at a time


@dataclass(frozen=True)
class Prepared:
    """A page made ready for OCR and for the archive."""

    ocr_image: np.ndarray  # uint8 gray, upright, deskewed, cropped, cleaned, colour ink dropped out
    store_image: np.ndarray  # same page, same crop; BGR when the page carries colour, gray otherwise
    is_color: bool
    dpi: float  # resolution of ocr_image (word boxes are in its pixels)
    quality: Quality
    upright_sure: bool = True  # False: the page's own cues could not tell upright from upside down
    store_dpi: float = 0.0  # resolution of store_image (0: the same as ``dpi``)

    @property
    def store_resolution(self) -> float:
        """Resolution of ``store_image``: the same sheet at ``dpi`` or finer."""
        return self.store_dpi or self.dpi

    def turned_180(self) -> Prepared:
        """The same page turned upside down (both images, and the rotation recorded in its quality)."""
        q = dataclasses.replace(self.quality, rotation=(self.quality.rotation + 180) % 360)
        return dataclasses.replace(self, ocr_image=np.ascontiguousarray(self.ocr_image[::-1, ::-1]),
                                   store_image=np.ascontiguousarray(self.store_image[::-1, ::-1]), quality=q,
                                   upright_sure=True)


def preprocess(image: np.ndarray, *, dpi: float, rules: bool = False, orientation_check: bool = True) -> Prepared:
    """Make a decoded page (uint8 gray HxW or BGR HxWx3, any orientation) upright, straight and clean.

    ``dpi`` is the scan resolution (0 when unknown, e.g. a phone photo: then estimated from the page
    outline assuming A4). Blank pages return early with ``quality.blank`` set. ``rules``: also paint
    table rules and frame borders white in the OCR image (``remove_rules``; off by default: on the dev
    corpus it cost more digits in table cells than it saved in stray "|"). ``orientation_check``: when
    the page's own cues cannot tell upright from upside down, ask Tesseract's orientation detector;
    with False the page is returned with ``upright_sure`` False instead and the caller decides from
    its OCR reading (what the pipeline does: one OCR run instead of two on most such pages).
    """
    image = _as_uint8_page(image)
    h, w = image.shape[:2]
    if dpi <= 0:
        dpi = max(h, w) / UNKNOWN_DPI_A4_LONG_IN
    colour = image.ndim == 3
    f = _area_factor(min(1.0, ANALYSIS_DPI / dpi))
    small_src = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
    small_gray = cv2.cvtColor(small_src, cv2.COLOR_BGR2GRAY) if colour else small_src
    small_ink, is_color = small_src, False
    if colour:
        mx, chroma = _max_and_chroma(small_src)
        is_color = _colourful(chroma)
        small_ink = cv2.add(mx, chroma, dst=mx)  # dropout_gray

    geo = find_geometry(small_gray, small_ink, dpi * f)
    # Effective resolution: a page found on a desk (photo) is measured by its outline.
    if geo.quad is not None and geo.page_long_px > 0 and geo.photo:
        dpi = geo.page_long_px / f / UNKNOWN_DPI_A4_LONG_IN
    issues: list[str] = []
    if geo.blank:
        store = image if is_color else (cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if colour else image)
        ocr = dropout_gray(image) if colour else image
        q = Quality(dpi=round(dpi, 1), border=geo.border, blank=True, ink_ratio=round(geo.ink_ratio, 5))
        return Prepared(ocr_image=ocr, store_image=store, is_color=is_color, dpi=dpi, quality=q)

    upright_sure = geo.upright_sure
    if not upright_sure and orientation_check:
        geo = _check_upside_down(image, geo, f, dpi)
        upright_sure = True
    scale = 1.0
    if dpi < UPSCALE_BELOW:
        scale = TARGET_DPI / dpi
    out_dpi = dpi * scale
    warped = _warp(image, geo, f, scale)
    if colour:  # dropout after the warp: before it, the ink edges come out measurably softer
        ocr_src = dropout_gray(warped)
        four = warped.shape[2] == 4
        if is_color:
            store = cv2.cvtColor(warped, cv2.COLOR_BGRA2BGR) if four else warped
        else:
            store = cv2.cvtColor(warped, cv2.COLOR_BGRA2GRAY if four else cv2.COLOR_BGR2GRAY)
        del warped  # held by ``store`` when it is kept in colour, else freed before the cleaning
    else:
        ocr_src = store = warped
    ocr, sharp = clean_for_ocr(ocr_src, out_dpi)
    del ocr_src
    _whiten(ocr, geo.holes, geo.matrix, scale / f)
    ocr_dpi = ocr_resolution(out_dpi, geo.letter_mm) if scale == 1.0 else out_dpi
    if ocr_dpi < out_dpi:
        oh, ow = ocr.shape
        size = (max(16, round(ow * ocr_dpi / out_dpi)), max(16, round(oh * ocr_dpi / out_dpi)))
        ocr = cv2.resize(ocr, size, interpolation=cv2.INTER_AREA)
        ocr_dpi = out_dpi * size[0] / ow
    if rules:
        remove_rules(ocr, ocr_dpi)

    if dpi < MIN_DPI - 0.5:
        issues.append(f"dpi {dpi:.0f} < {MIN_DPI:.0f}")
    if sharp < BLUR_MIN:
        issues.append(f"blurred (sharpness {sharp:.2f} < {BLUR_MIN})")
    if geo.cut_off:
        issues.append("cut off (text touches the page edge)")
    if abs(geo.skew) > 10.0:
        issues.append(f"skew {geo.skew:.1f}° beyond ±10°")
    q = Quality(rotation=geo.rotation, skew_deg=round(float(geo.skew), 2), blur=round(float(sharp), 3),
                dpi=round(float(dpi), 1), border=geo.border, blank=False,
                ink_ratio=round(float(geo.ink_ratio), 5), issues=tuple(issues))
    log.debug("preprocessed page: rotation %d, skew %.2f, dpi %.0f->%.0f (OCR %.0f), border %s, sharpness %.2f",
              geo.rotation, geo.skew, dpi, out_dpi, ocr_dpi, geo.border, sharp)
    return Prepared(ocr_image=ocr, store_image=store, is_color=is_color, dpi=ocr_dpi, quality=q,
                    upright_sure=upright_sure, store_dpi=out_dpi)


def ocr_resolution(dpi: float, letter_mm: float) -> float:
    """The resolution to OCR a ``dpi`` page at, given its median letter height (0: unknown).

    Enough pixels for the letters to come out ``LETTER_PX`` high, never below ``OCR_DPI`` nor above
    ``dpi``; a reduction of less than 10% is not worth its blur.
    """
    if letter_mm <= 0 or dpi <= OCR_DPI:
        return dpi
    want = max(OCR_DPI, LETTER_PX * 25.4 / letter_mm)
    return want if want < 0.9 * dpi else dpi


# --- colour --------------------------------------------------------------------------------------


def dropout_gray(bgr: np.ndarray) -> np.ndarray:
    """Gray image in which coloured ink (red seals, blue signatures) fades into the paper (BGR or BGRA in).

    Per pixel: the brightest channel plus its chroma (max - min). Black toner has no chroma and stays
    dark, even where a seal lies over it; red or blue ink has a bright channel and strong chroma.
    """
    h, w = bgr.shape[:2]
    if h * w <= BGRA_MAX_PIXELS:
        mx, chroma = _max_and_chroma(bgr)
        return cv2.add(mx, chroma, dst=mx)
    out = np.empty((h, w), np.uint8)  # a large page in bands: four full-size planes would be 4 bytes a pixel
    for y0 in range(0, h, BAND_ROWS):
        mx, chroma = _max_and_chroma(bgr[y0:y0 + BAND_ROWS])
        cv2.add(mx, chroma, dst=out[y0:y0 + BAND_ROWS])
    return out


def has_colour(small_bgr: np.ndarray) -> bool:
    """True when a real amount of saturated ink (seal, signature, photo) is on the page.

    Paper tint and sensor noise have low chroma; a seal is a compact patch of strongly saturated pixels.
    """
    return _colourful(_max_and_chroma(small_bgr)[1])


def _colourful(chroma: np.ndarray) -> bool:
    """``has_colour``, given the chroma (max - min over the channels) of the small copy."""
    return np.count_nonzero(chroma > 70) / chroma.size > 0.0015


def _max_and_chroma(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel brightest channel and chroma (brightest - darkest) of a BGR (or BGRA) image.

    The planes come from ``cv2.mixChannels`` (faster than ``cv2.split``, and it takes BGRA as well) and
    the arithmetic runs in them: fresh full-page arrays cost more than the arithmetic.
    """
    b, g, r = (np.empty(bgr.shape[:2], np.uint8) for _ in range(3))
    cv2.mixChannels([bgr], [b, g, r], [0, 0, 1, 1, 2, 2])
    mx = cv2.max(b, g)
    cv2.max(mx, r, dst=mx)
    chroma = cv2.min(b, g, dst=b)
    cv2.min(chroma, r, dst=chroma)
    cv2.subtract(mx, chroma, dst=chroma)
    return mx, chroma


# --- resizing -------------------------------------------------------------------------------------


def _area_factor(f: float) -> float:
    """``f`` (< 1), made exactly 1/n when it is 1/n up to rounding: OpenCV's fast INTER_AREA path."""
    n = round(1.0 / f)
    return 1.0 / n if n >= 2 and abs(1.0 / f - n) < 1e-6 * n else f


# --- full-resolution work ------------------------------------------------------------------------


def _as_uint8_page(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise PageError("page image must be a uint8 numpy array")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or min(image.shape[:2]) < 16:
        raise PageError(f"page image has an unusable shape {image.shape}")
    return image


def _warp(image: np.ndarray, geo: Geometry, f: float, scale: float) -> np.ndarray:
    """One warp from the scan to the upright, deskewed, cropped (and rescaled) page.

    A colour scan may come back BGRA (alpha unused): OpenCV interpolates 4-channel pixels much faster
    than 3-channel ones (linear; not cubic), with the same values. Not above ``BGRA_MAX_PIXELS``: there
    the two 4-channel copies would cost more memory than the time saved is worth.
    """
    # geo.matrix maps analysis-resolution scan coordinates to analysis-resolution output coordinates.
    s = scale / f
    size = (max(1, round(geo.out_size[0] * s)), max(1, round(geo.out_size[1] * s)))
    to_small = np.diag([f, f, 1.0])
    to_out = np.diag([s, s, 1.0])
    m = to_out @ geo.matrix @ to_small
    interp = cv2.INTER_LINEAR if scale <= 1.01 else cv2.INTER_CUBIC
    if image.ndim == 3 and interp == cv2.INTER_LINEAR and image.shape[0] * image.shape[1] <= BGRA_MAX_PIXELS:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    if geo.photo:
        return cv2.warpPerspective(image, m, size, flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(image, m[:2], size, flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _whiten(img: np.ndarray, boxes: tuple[tuple[float, float, float, float], ...], matrix: np.ndarray,
            s: float) -> None:
    """Paint punch holes (boxes x, y, w, h in small-scan px) white in the output image, in place."""
    for x, y, w, h in boxes:
        c = matrix @ np.array([x + w / 2, y + h / 2, 1.0])
        if matrix[2, 0] or matrix[2, 1]:
            c = c / c[2]
        r = 0.5 * max(w, h) * s * 1.25 + 2
        cv2.circle(img, (round(c[0] * s), round(c[1] * s)), round(r), 255, -1)


def _check_upside_down(image: np.ndarray, geo: Geometry, f: float, dpi: float) -> Geometry:
    """Ask Tesseract's orientation detector (on a 150-dpi copy of the straightened page) about 180°."""
    import pytesseract  # only needed for the few pages whose own cues are weak

    osd_scale = min(1.0, OSD_DPI / dpi)
    page = _warp(image, geo, f, osd_scale)
    if page.ndim == 3:
        page = dropout_gray(page)
    best = (0, 0.0)
    for candidate in (clean_for_ocr(page, dpi * osd_scale)[0], page):
        try:
            osd = pytesseract.image_to_osd(candidate, config="--psm 0 -c min_characters_to_try=10",
                                           output_type=pytesseract.Output.DICT)
        except pytesseract.TesseractError as e:
            log.debug("orientation check: OSD found too little text: %s", e)
            continue
        conf = float(osd.get("orientation_conf", 0.0))
        if conf > best[1]:
            best = (int(osd.get("rotate", 0)), conf)
        if conf >= 2.0:
            break
    if best[0] == 180 and best[1] >= 0.5:
        log.debug("OSD turns the page upside down (conf %.1f)", best[1])
        return geo.turned_180()
    return geo


def clean_for_ocr(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """Flatten the light, strengthen faded ink, remove speckles; returns (image, sharpness).

    Background is estimated by a max filter wider than any glyph (also erasing punch holes and dark
    margins) on a coarse copy, and divided out. The ink is then stretched so its typical darkness
    maps to near-black. Sharpness: see ``sharpness`` (measured before the stretch).
    """
    h, w = gray.shape
    k = max(1.0, dpi / 50.0)  # work the background at ~50 dpi
    sw, sh = max(8, round(w / k)), max(8, round(h / k))
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA)
    ksz = int(round(8.0 / 25.4 * dpi / k)) | 1  # 8 mm window
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (ksz, ksz)))
    bg = cv2.blur(bg, (ksz, ksz))
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    norm = cv2.divide(gray, bg, dst=bg, scale=255)
    sharp = sharpness(norm, dpi)
    gain = _ink_gain(norm, (sw * 2, sh * 2))
    out = cv2.medianBlur(norm, 3)
    if gain > 1.01:  # the stretch is monotone, so stretching after the median is the same as before it
        lut = np.clip(255.0 - (255.0 - np.arange(256)) * gain, 0, 255).astype(np.uint8)
        cv2.LUT(out, lut, dst=out)
    return out, sharp


def _ink_gain(norm: np.ndarray, size: tuple[int, int]) -> float:
    """How much to stretch faded ink: 200 / (255 - its level), within [1, 3] (1.01 or less: leave it).

    The level is the 10th percentile of the dark (< 200) pixels of a coarse copy (``size``, INTER_AREA).
    That reduction is by a fractional factor, several times slower than one by a whole factor; the whole
    one, to about the same size, lands within a few levels of it. When that cheap copy shows ink far
    darker than where stretching starts, the gain is 1 either way and the exact level is not measured.
    """
    h, w = norm.shape
    n = round(w / size[0])
    if n >= 2 and (w, h) != (n * size[0], n * size[1]):  # not a whole-factor reduction already
        dark = histogram(cv2.resize(norm, None, fx=1 / n, fy=1 / n, interpolation=cv2.INTER_AREA))[:200]
        if dark.sum() >= INK_QUICK_MIN_PX and hist_percentiles(dark, 10)[0] < STRETCH_ABOVE - INK_QUICK_MARGIN:
            return 1.0
    dark = histogram(cv2.resize(norm, size, interpolation=cv2.INTER_AREA))[:200]
    ink = hist_percentiles(dark, 10)[0] if dark.sum() > 50 else 0.0
    return min(3.0, max(1.0, 200.0 / max(1.0, 255.0 - ink)))


RULE_MIN_MM = 12.0  # a straight ink run at least this long is a rule or a frame, not a letter
RULE_MAX_MM = 0.8  # ... and at most this thick (Vietnamese letters are < 0.5 mm per stroke at 13 pt)


def rule_mask(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Pixels of table rules and frame borders: long, thin, straight horizontal or vertical ink runs.

    Ink (darker than the paper by half) is opened with a line ``RULE_MIN_MM`` long in each direction; what
    survives and is no thicker than ``RULE_MAX_MM`` (an opening across keeps only blobs, such as a solid
    bar or a photo, which are not removed) is grown by a pixel to take the anti-aliased edges.
    """
    mm = dpi / 25.4
    ink = (gray < 128).astype(np.uint8)
    length = max(8, round(RULE_MIN_MM * mm))
    thick = max(2, round(RULE_MAX_MM * mm))
    lines = np.zeros_like(ink)
    for k_line, k_thick in (((length, 1), (1, thick + 1)), ((1, length), (thick + 1, 1))):
        run = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, k_line))
        if not run.any():
            continue
        solid = cv2.morphologyEx(run, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, k_thick))
        lines |= run & (1 - solid)
    return cv2.dilate(lines, np.ones((3, 3), np.uint8)) if lines.any() else lines


def remove_rules(gray: np.ndarray, dpi: float) -> int:
    """Paint table rules and frame borders white in place (see ``rule_mask``); returns pixels whitened.

    Tesseract reads a rule as "|" or "_" and, worse, takes a framed block for a picture and skips the
    text in it; letters crossed by a rule lose at most the pixels under the rule.
    """
    mask = rule_mask(gray, dpi)
    n = int(np.count_nonzero(mask))
    if n:
        gray[mask > 0] = 255
    return n


def sharpness(gray: np.ndarray, dpi: float) -> float:
    """How steep the ink edges are, per pixel at 150 dpi, relative to the ink contrast (1 = crisp).

    The gradient is taken at its ridge (local maxima across each edge), after a 3x3 median so that noise
    specks do not pass for crisp edges; the median ridge height is used. A step
    blurred by sigma pixels (at 150 dpi) scores about 1 / (2.5 sigma).
    """
    f = _area_factor(min(1.0, 150.0 / dpi)) if dpi > 0 else 1.0
    img = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 0.95 else gray
    img = cv2.medianBlur(img, 3)  # noise specks would pass for crisp edges
    lo, hi = hist_percentiles(histogram(img), 0.5, 99.5)
    contrast = max(40.0, hi - lo)
    ridge = _ridge_heights(img, 0.3 * contrast)
    if ridge.size < 100:
        return 1.0
    slope = float(np.percentile(ridge, 50)) / 4.0 / contrast  # a 3x3 Sobel on a step of height c peaks at 4c
    eff_dpi = dpi * f if dpi > 0 else 150.0
    return min(1.5, slope * 150.0 / eff_dpi) if eff_dpi < 150 else min(1.5, slope)


RIDGE_BAND_ROWS = 128  # ``_ridge_heights`` works in bands of rows this high


def _ridge_heights(img: np.ndarray, floor: float) -> np.ndarray:
    """Gradient magnitude (3x3 Sobel) where it is a 5x5 local maximum and above ``floor``, row by row.

    Worked in bands of rows, each read with the 3 rows on either side that the two filters reach, so
    the float images stay small (in cache, and not fresh memory for every page): the values are those
    of the whole image.
    """
    h = img.shape[0]
    box = np.ones((5, 5), np.uint8)
    ridges = []
    for y0 in range(0, h, RIDGE_BAND_ROWS):
        y1 = min(h, y0 + RIDGE_BAND_ROWS)
        a, b = max(0, y0 - 3), min(h, y1 + 3)
        gx = cv2.Sobel(img[a:b], cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(img[a:b], cv2.CV_32F, 0, 1, ksize=3)
        mag = cv2.magnitude(gx, gy, gx)
        peak = cv2.dilate(mag, box, dst=gy)[y0 - a:y1 - a]
        mag = mag[y0 - a:y1 - a]
        ridges.append(mag[(mag >= peak) & (mag > floor)])
    return np.concatenate(ridges)
