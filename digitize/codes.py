"""Reading QR codes (separator sheets, certificates) and Code128 barcodes (receipts) on a page.

zxing-cpp does the decoding: it finds codes at any angle, inverted or not, and scans downscaled
copies itself. It runs on every page, so the first pass is one call on the gray image; the retries
(an Otsu-thresholded copy for faded toner and uneven light, a smoothed half-size copy for noise and
phone-photo moiré, an enlarged copy for low-resolution scans, a global-histogram binarizer) run only
when the first pass found nothing. Payloads are returned exactly as decoded, never corrected.
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


def _otsu(gray: np.ndarray) -> np.ndarray:
    """Flatten uneven light (divide by a heavy blur of the page), then threshold with Otsu."""
    bg = cv2.medianBlur(cv2.resize(gray, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA), 21)
    bg = cv2.resize(bg, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(gray, np.maximum(bg, 1), scale=255)
    _, out = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out


def _scaled(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` reduced (area average, which also smooths noise) so its long side is at most ``side``."""
    f = side / max(gray.shape)
    if f >= 1:
        return gray
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def _passes(gray: np.ndarray) -> Iterable[tuple[str, Callable[[], list[Code]]]]:
    """Decoding attempts, cheapest and most likely first; the caller stops at the first that finds codes."""
    work = _scaled(gray, _WORK_SIDE)
    if work is gray:  # not reduced: smooth sensor noise, which otherwise floods the detector
        work = cv2.GaussianBlur(gray, (3, 3), 0)
    yield "work", lambda: _decode(work, try_invert=False)
    yield "half", lambda: _decode(_scaled(work, max(work.shape) // 2), try_invert=False, try_downscale=False)
    yield "otsu", lambda: _decode(_otsu(work), try_invert=False, try_downscale=False)
    if work.shape == gray.shape:  # thin bars of a blurred scan lost to the smoothing of the first pass
        yield "unsmoothed", lambda: _decode(gray, try_invert=False, try_downscale=False)
    if max(gray.shape) < _LOW_RES_SIDE:
        yield "enlarged", lambda: _decode(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC),
                                          try_invert=False, try_downscale=False)


def read_codes(image: np.ndarray) -> tuple[Code, ...]:
    """All QR / Code128 / DataMatrix codes on a page image (uint8 gray or BGR, any orientation).

    Returns distinct codes in the order found; an empty tuple when the page carries none.
    """
    gray = _gray(image)
    if gray.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {gray.dtype}")
    for name, attempt in _passes(gray):
        codes = attempt()
        if codes:
            if name != "work":
                log.debug("codes found on retry %s", name)
            return tuple(dict.fromkeys(codes))
    return ()
