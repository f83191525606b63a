"""Reading QR codes (separator sheets, certificates) and Code128 barcodes (receipts) on a page.

zxing-cpp does the decoding: it finds codes at any angle, inverted or not, and scans downscaled
copies itself. It runs on every page, so the first pass is one call on a copy of the page at about
200 dpi whose search is not turned by 90 degrees (that doubles its cost): it reads barcodes upright
or upside down, QR codes at any angle, DataMatrix codes upright. Most pages carry no code, so when
that pass finds nothing a cheap detector looks, on a ~50 dpi map of the page's edges, for what a
code looks like: a barcode is a patch of dense parallel edges, the gradient across the bars
dominating; a QR or DataMatrix code is a compact square of dense edges in both directions (text
lines, tables, photos and seals are not). Only a page with such a patch pays for the retries, each
on the whole page: the first pass with its search turned too, a smoothed half-size copy (noise,
phone-photo moiré), an Otsu-thresholded copy (faded toner, uneven light), and for scans of at most
~200 dpi the unsmoothed copy, for those under ~150 dpi an enlarged one (thin bars).
Payloads are returned exactly as decoded, never corrected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import cv2
import numpy as np
import zxingcpp

from digitize.models import Code

log = logging.getLogger(__name__)

FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode, zxingcpp.BarcodeFormat.Code128,
           zxingcpp.BarcodeFormat.DataMatrix)
_WORK_SIDE = 2400  # pages are first read at about 200 dpi (A4 long side): enough for 0.25 mm bars
_LOW_RES_SIDE = 1800  # below this (A4 under ~150 dpi) an enlarged copy is tried too
_PAGE_MM = 297.0  # sizes in mm take the long side of the page for that of an A4 sheet
_GRADIENT_SIDE = 1600  # edges are measured on a copy of at most about 140 dpi (bars of 0.25 mm survive)
_WINDOW_MM = 2.5  # edge density is averaged over squares of this side
_BAR_EDGE = 10  # mean edge strength across bars (gray levels) that counts: faded toner still gives ~30
_BAR_RATIO = 3  # edges across the bars at least this much stronger than along them
_SQUARE_EDGE = (10, 24)  # bounds of the edge strength a 2-D code must reach (scaled to the page's contrast)

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    raise ValueError(f"unsupported image shape {image.shape}")


def _format_name(fmt: object) -> str:
    name = getattr(fmt, "name", None) or str(fmt)
    return name.rsplit(".", 1)[-1]


def _decode(img: np.ndarray, **options: object) -> list[Code]:
    found = zxingcpp.read_barcodes(np.ascontiguousarray(img), formats=FORMATS, **options)
    return [Code(format=_format_name(b.format), payload=b.text) for b in found if b.valid and b.text]


def _halve(img: np.ndarray) -> np.ndarray:
    """``img`` at half size, each pixel the mean of a 2x2 block (an odd last row or column is dropped)."""
    h, w = img.shape[0] // 2, img.shape[1] // 2
    return cv2.resize(img[:2 * h, :2 * w], (w, h), interpolation=cv2.INTER_AREA)


def _otsu(gray: np.ndarray) -> np.ndarray:
    """Flatten uneven light (divide by a heavy blur of the page), then threshold with Otsu."""
    bg = cv2.medianBlur(cv2.resize(gray, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA), 21)
    bg = cv2.resize(bg, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(gray, np.maximum(bg, 1), scale=255)
    _, out = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out


def _work(gray: np.ndarray) -> np.ndarray:
    """The copy the first pass reads: long side at most ``_WORK_SIDE``, sensor noise smoothed.

    A larger page is halved by 2x2 means while it is over twice too large, then interpolated
    bilinearly (which averages neighbours too, and is several times cheaper than a fractional area
    resize); a page not reduced gets a light blur, as noise otherwise floods the detector.
    """
    if max(gray.shape) <= _WORK_SIDE:
        return cv2.GaussianBlur(gray, (3, 3), 0)
    out = gray
    while max(out.shape) >= 2 * _WORK_SIDE:
        out = _halve(out)
    f = _WORK_SIDE / max(out.shape)
    return cv2.resize(out, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)


# --- where a code may be ---------------------------------------------------------------------------


def _edge_maps(work: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean horizontal and vertical edge strength (uint8) on a ~50 dpi grid, and that grid's pixels per mm.

    Edges are central differences on a copy of at most ~140 dpi, averaged over 2x2 blocks, then
    over squares of ``_WINDOW_MM``.
    """
    img = _halve(work) if max(work.shape) >= _GRADIENT_SIDE else work
    gx = _halve(cv2.absdiff(img[1:-1, 2:], img[1:-1, :-2]))
    gy = _halve(cv2.absdiff(img[2:, 1:-1], img[:-2, 1:-1]))
    px_mm = max(gx.shape) / _PAGE_MM
    k = max(3, round(_WINDOW_MM * px_mm))
    return cv2.blur(gx, (k, k)), cv2.blur(gy, (k, k)), px_mm


def _dominant(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where edges ``a`` count (``_BAR_EDGE``) and are ``_BAR_RATIO`` times stronger than edges ``b``."""
    strong = cv2.compare(a, _BAR_EDGE, cv2.CMP_GE)
    return cv2.bitwise_and(strong, cv2.compare(a, cv2.convertScaleAbs(b, alpha=_BAR_RATIO), cv2.CMP_GE))


def _components(mask: np.ndarray, min_side: float) -> Iterable[tuple[Box, np.ndarray]]:
    """Connected parts of ``mask`` (uint8) with both sides at least ``min_side``: box, and the part's pixels in it.

    Specks narrower than 3 pixels are opened away first; outer contours give the boxes (both far
    cheaper than labelling every speck of text).
    """
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w >= min_side and h >= min_side:
            inside = np.zeros((h, w), np.uint8)
            cv2.drawContours(inside, [contour], 0, 255, cv2.FILLED, offset=(-x, -y))
            yield (x, y, w, h), (inside & mask[y:y + h, x:x + w]) > 0


def _mean_ratio(num: np.ndarray, den: np.ndarray, box: Box, part: np.ndarray) -> float:
    """Mean of ``num`` over mean of ``den`` on the pixels of one part."""
    x, y, w, h = box
    return float(num[y:y + h, x:x + w][part].mean()) / max(float(den[y:y + h, x:x + w][part].mean()), 1.0)


def _bar_regions(bx: np.ndarray, by: np.ndarray, px_mm: float) -> list[Box]:
    """Patches where edges across one axis dominate, at least 12 mm along it and 4 mm across.

    Text gives short or thin patches (words, single lines), table and frame rules long thin ones
    (their patches are much longer along the rule than across); bars give a block, or a
    parallelogram filling a third of its box at least when the page is skewed.
    """
    found = []
    for across, along, vertical_bars in ((bx, by, True), (by, bx, False)):
        for (x, y, w, h), part in _components(_dominant(across, along), 4 * px_mm):
            length, height = (w, h) if vertical_bars else (h, w)
            if not (length >= 12 * px_mm and height <= 2 * length and np.count_nonzero(part) >= 0.3 * w * h):
                continue
            if _mean_ratio(across, along, (x, y, w, h), part) >= 5:
                found.append((x, y, w, h))
    return found


def _square_threshold(energy: np.ndarray) -> float:
    """Edge strength a 2-D code must reach: a quarter of the page's strongest (1 %), within bounds."""
    sample = energy[::3, ::3].ravel()
    k = int(0.99 * (sample.size - 1))
    return float(np.clip(0.25 * float(np.partition(sample, k)[k]), *_SQUARE_EDGE))


def _square_regions(bx: np.ndarray, by: np.ndarray, px_mm: float) -> list[Box]:
    """Compact patches (6-90 mm, at most 2.5 times longer than wide) filled with edges of both directions alike.

    QR and DataMatrix codes are such patches; text merges into lines and blocks with more vertical
    than horizontal strokes, and a photo or a seal leaves much of its box empty. Small patches must be
    fuller, as a punched hole (a dark disc) fills most of a box of about 8 mm.
    """
    energy = cv2.add(bx, by)
    found = []
    for box, part in _components(cv2.compare(energy, _square_threshold(energy), cv2.CMP_GE), 6 * px_mm):
        side, length = sorted(box[2:])
        if length > min(90 * px_mm, 2.5 * side):
            continue
        fill = np.count_nonzero(part) / (side * length)
        if fill >= (0.6 if side >= 9 * px_mm else 0.78) and 0.75 <= _mean_ratio(by, bx, box, part) <= 1.33:
            found.append(box)
    return found


def _scaled_box(box: Box, f: float) -> Box:
    x, y, w, h = box
    return round(x * f), round(y * f), round(w * f), round(h * f)


def _regions(work: np.ndarray) -> list[Box]:
    """Boxes of ``work`` where the edges look like those of a barcode or a 2-D code."""
    bx, by, px_mm = _edge_maps(work)
    f = max(work.shape) / max(bx.shape)
    return [_scaled_box(b, f) for b in _bar_regions(bx, by, px_mm) + _square_regions(bx, by, px_mm)]


def code_regions(image: np.ndarray) -> list[Box]:
    """Where on a page image a barcode or 2-D code may be (boxes in its pixels); empty when nowhere.

    The gate of the retries in :func:`read_codes`; it errs on the side of finding a region.
    """
    gray = _gray(image)
    work = _work(gray)
    return [_scaled_box(b, max(gray.shape) / max(work.shape)) for b in _regions(work)]


# --- decoding --------------------------------------------------------------------------------------


def _retries(work: np.ndarray, gray: np.ndarray) -> Iterable[tuple[str, Callable[[], list[Code]]]]:
    """Decoding attempts after an empty first pass, cheapest and most likely first."""
    yield "rotated", lambda: _decode(work, try_invert=False)
    yield "half", lambda: _decode(_halve(work), try_invert=False, try_downscale=False)
    yield "otsu", lambda: _decode(_otsu(work), try_invert=False, try_downscale=False)
    if work.shape == gray.shape:  # thin bars of a blurred scan lost to the smoothing of the first pass
        yield "unsmoothed", lambda: _decode(gray, try_invert=False, try_downscale=False)
    if max(gray.shape) < _LOW_RES_SIDE:
        yield "enlarged", lambda: _decode(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC),
                                          try_invert=False, try_downscale=False)


def _retry(work: np.ndarray, gray: np.ndarray) -> list[Code]:
    """Codes of the first retry that finds any."""
    for name, attempt in _retries(work, gray):
        codes = attempt()
        if codes:
            log.debug("codes found on retry %s", name)
            return codes
    return []


def read_codes(image: np.ndarray) -> tuple[Code, ...]:
    """All QR / Code128 / DataMatrix codes on a page image (uint8 gray or BGR, any orientation).

    Returns distinct codes in the order found; an empty tuple when the page carries none.
    """
    gray = _gray(image)
    if gray.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {gray.dtype}")
    work = _work(gray)
    codes = _decode(work, try_invert=False, try_rotate=False)
    if not codes and _regions(work):
        codes = _retry(work, gray)
    return tuple(dict.fromkeys(codes))
