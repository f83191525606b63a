"""Page geometry from a small copy of the scan: paper outline, blank check, orientation and skew.

Everything here runs at ~100 dpi and returns a ``Geometry``: a 3x3 matrix from small-scan pixels to
small upright-page pixels plus the facts the quality check reports. How it decides:

- *paper*: dark regions connected to the image edge (scanner lid, desk) are background; the largest
  remaining region is the sheet. A large background with a four-cornered sheet is a photo: the sheet
  is rectified by a perspective warp.
- *ink*: light is flattened (max-filter background, divide) and text-sized connected components kept
  (no rules, frames, punch holes, specks).
- *skew and 0/90*: projection profiles of the ink pixels over angles within ±10°, rows against columns:
  text lines give the sharpest profile along their own direction.
- *180*: in Latin script, and Vietnamese with its stacked diacritics even more, there is much more ink
  above the x-height band of a line (ascenders, capitals, tone marks) than below it (descenders).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

MAX_SKEW = 10.0  # degrees searched either way
SURE_MIN_GLYPHS = 300  # fewer letters than this: ask Tesseract's OSD about 180 degrees
SURE_MIN_UPDOWN = 1.3
BLANK_MAX_GLYPHS = 6  # fewer text-sized components than this (and little ink) = blank page


@dataclass(frozen=True)
class Geometry:
    """What the small copy tells about the page."""

    matrix: np.ndarray  # 3x3, small scan px -> small output px
    out_size: tuple[int, int]  # (w, h) of the output at small scale
    rotation: int = 0  # clockwise quarter turns applied, in degrees
    skew: float = 0.0  # measured skew, degrees, counter-clockwise positive, in the upright frame
    border: bool = False
    photo: bool = False
    quad: np.ndarray | None = None
    page_long_px: float = 0.0  # long side of the sheet found, small px (photos)
    blank: bool = False
    ink_ratio: float = 0.0
    glyphs: int = 0
    cut_off: bool = False
    updown: float = 0.0  # ink above / below the x-height band of the chosen orientation (>= 1)
    holes: tuple[tuple[float, float, float, float], ...] = ()  # punch holes (x, y, w, h), small-scan px
    letter_mm: float = 0.0  # median height of the letter-sized ink blobs, mm (0: not measured)

    @property
    def upright_sure(self) -> bool:
        """False when the up/down cue is weak (few lines, or nearly as much ink below as above)."""
        return self.glyphs >= SURE_MIN_GLYPHS and self.updown >= SURE_MIN_UPDOWN

    def turned_180(self) -> Geometry:
        """The same geometry with the output turned upside down."""
        w, h = self.out_size
        flip = np.array([[-1, 0, w], [0, -1, h], [0, 0, 1]], float)
        return dataclasses.replace(self, matrix=flip @ self.matrix, rotation=(self.rotation + 180) % 360,
                                   updown=0.0)


def find_geometry(gray: np.ndarray, ink_gray: np.ndarray, dpi: float) -> Geometry:
    """Analyse a small copy (gray for the paper outline, colour-dropped gray for the text)."""
    h, w = gray.shape
    mm = dpi / 25.4
    paper, border, bg_frac = _paper_mask(gray, mm)
    quad = _quad(paper) if border else None
    photo = quad is not None and bg_frac > 0.12
    if photo:
        hom, (pw, ph) = _rectify(quad)
        ink_gray = cv2.warpPerspective(ink_gray, hom, (pw, ph), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
        paper = np.full((ph, pw), 255, np.uint8)
        base = hom
        size = (pw, ph)
    else:
        base = np.eye(3)
        size = (w, h)
    whole = photo or not border  # the whole (rectified) image is the sheet: no sheet edge inside it
    ink = _ink_mask(ink_gray, None if whole else paper, mm)
    glyph_mask, n_glyphs, holes, letter_hw = _glyphs(ink, mm)
    if photo and holes:
        inv = np.linalg.inv(hom)  # report holes in scan coordinates, like the matrix expects
        holes = tuple(_box_through(inv, b) for b in holes)
    paper_px = max(1, int(np.count_nonzero(paper)))
    ink_ratio = float(np.count_nonzero(ink)) / paper_px
    if n_glyphs < BLANK_MAX_GLYPHS or (n_glyphs < 3 * BLANK_MAX_GLYPHS and ink_ratio < 0.0005):
        return Geometry(matrix=base, out_size=size, border=border, photo=photo, quad=quad, blank=True,
                        ink_ratio=ink_ratio, glyphs=n_glyphs, page_long_px=_long_side(quad))
    pts = cv2.findNonZero(glyph_mask).reshape(-1, 2)  # row by row, like np.nonzero
    xs, ys = pts[:, 0], pts[:, 1]
    vertical = _lines_vertical(glyph_mask, mm)
    rot, skew, updown = _orientation_and_skew(xs.astype(np.float32), ys.astype(np.float32), mm, vertical)
    cut = not whole and _cut_off(glyph_mask, paper, mm)

    # rotation about the centre of the (rectified) sheet, then crop to the sheet
    cx, cy = size[0] / 2.0, size[1] / 2.0
    r = cv2.getRotationMatrix2D((cx, cy), -(rot + skew), 1.0)
    r = np.vstack([r, [0, 0, 1]])
    if border and not photo:
        hull = _hull(paper)
        mapped = (r[:2, :2] @ hull.T).T + r[:2, 2]
        inset = 0.7 * mm  # the sheet's own edge shadow
        x0, y0 = mapped.min(axis=0) + inset
        x1, y1 = mapped.max(axis=0) - inset
    else:
        if rot in (90, 270):
            ow, oh = size[1], size[0]
        else:
            ow, oh = size
        c = r[:2, :2] @ np.array([cx, cy]) + r[:2, 2]
        x0, y0, x1, y1 = c[0] - ow / 2, c[1] - oh / 2, c[0] + ow / 2, c[1] + oh / 2
    t = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
    m = t @ r @ base
    out = (max(8, int(round(x1 - x0))), max(8, int(round(y1 - y0))))
    quad_skew = _quad_angle(quad) if photo else 0.0
    return Geometry(matrix=m, out_size=out, rotation=rot, skew=skew + quad_skew, border=border, photo=photo,
                    quad=quad, page_long_px=_long_side(quad), blank=False, ink_ratio=ink_ratio,
                    glyphs=n_glyphs, cut_off=cut, updown=updown, holes=holes,
                    letter_mm=0.0 if photo else letter_hw[1 if rot in (90, 270) else 0] / mm)


# --- helpers -------------------------------------------------------------------------------------


def histogram(img: np.ndarray) -> np.ndarray:
    """Counts of each value of a uint8 image (256 bins)."""
    return cv2.calcHist([img], [0], None, [256], [0, 256]).ravel()


def hist_percentiles(hist: np.ndarray, *qs: float) -> list[float]:
    """``np.percentile`` (linear interpolation) of the values a histogram counts, without sorting them."""
    cum = np.cumsum(hist)
    n = int(cum[-1])
    out = []
    for q in qs:
        pos = q / 100.0 * (n - 1)
        i = math.floor(pos)
        lo = float(np.searchsorted(cum, i, side="right"))  # the i-th smallest value, counting from 0
        hi = float(np.searchsorted(cum, min(i + 1, n - 1), side="right"))
        out.append(lo + (hi - lo) * (pos - i))
    return out


# --- paper ---------------------------------------------------------------------------------------


def _paper_mask(gray: np.ndarray, mm: float) -> tuple[np.ndarray, bool, float]:
    """(sheet mask, dark background found, background fraction)."""
    h, w = gray.shape
    no_background = np.full((h, w), 255, np.uint8), False, 0.0
    sigma = max(1.0, mm)
    ksize = int(round(sigma * 6 + 1)) | 1  # what OpenCV picks for uint8 and ksize (0, 0)
    if _edge_stays_light(gray, sigma, ksize):
        return no_background  # most flatbed scans: the whole page need not be blurred and labelled
    blurred = cv2.GaussianBlur(gray, (ksize, ksize), sigma)
    white = hist_percentiles(histogram(blurred), 99)[0]
    dark = (blurred < 0.5 * white).astype(np.uint8)
    if not (dark[0].any() or dark[-1].any() or dark[:, 0].any() or dark[:, -1].any()):
        return no_background  # nothing dark reaches the edge
    n, labels, area = _labels_and_areas(dark)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    min_area = 2 * mm * max(h, w) * 0.05  # a band at least ~2 mm deep along a fifth of a side
    bg_ids = edge_labels[(edge_labels > 0) & (area[edge_labels] >= min_area)]
    if not bg_ids.size:
        return no_background
    is_bg = np.zeros(n, np.uint8)
    is_bg[bg_ids] = 1
    bg = np.take(is_bg, labels)
    # the sheet: the largest region left, its holes (dark marks inside it) filled
    contours, _ = cv2.findContours(1 - bg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return no_background
    filled = np.zeros((h, w), np.uint8)
    cv2.drawContours(filled, [max(contours, key=cv2.contourArea)], -1, 255, thickness=cv2.FILLED)
    return filled, True, cv2.countNonZero(bg) / bg.size


def _labels_and_areas(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """4-connected components: (count, labels, pixel count of each); 16-bit labels unless too many."""
    try:
        n, labels = cv2.connectedComponents(mask, connectivity=4, ltype=cv2.CV_16U)
    except cv2.error:  # more than 65535 components
        n, labels = cv2.connectedComponents(mask, connectivity=4, ltype=cv2.CV_32S)
        return n, labels, np.bincount(labels.ravel(), minlength=n)
    return n, labels, cv2.calcHist([labels], [0], None, [n], [0, n]).ravel()


def _edge_stays_light(gray: np.ndarray, sigma: float, ksize: int) -> bool:
    """True when no pixel on the image edge is dark (< half of any paper white) after the paper blur.

    The blur of the edge pixels is taken on strips as deep as the kernel, which gives exactly the values
    the blur of the whole image has there (the Gaussian is the same along both axes).
    """
    d = 2 * (ksize // 2) + 1
    if min(gray.shape) < 2 * d:
        return False

    def blur(strip: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(strip, (ksize, ksize), sigma)

    # the side strips are blurred lying down (the same values; OpenCV is slow on tall narrow images)
    left, right = np.ascontiguousarray(gray[:, :d].T), np.ascontiguousarray(gray[:, -d:].T)
    edges = (blur(gray[:d])[0], blur(gray[-d:])[-1], blur(left)[0], blur(right)[-1])
    return min(int(e.min()) for e in edges) >= 128  # 0.5 * white <= 127.5


def _hull(mask: np.ndarray) -> np.ndarray:
    """Convex hull (float Nx2) of a mask's pixels: that of its outer contours, far fewer points."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.convexHull(np.concatenate(contours)).reshape(-1, 2).astype(np.float64)


def _quad(paper: np.ndarray) -> np.ndarray | None:
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            return _order(approx.reshape(4, 2).astype(np.float32))
    return None


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


def _rectify(quad: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    tl, tr, br, bl = quad
    w = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    h = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    # perspective foreshortens one side; a sheet within 12% of A4 proportions is taken to be A4
    a4 = math.sqrt(2)
    if h >= w and abs(h / w / a4 - 1) < 0.12:
        h = int(round(w * a4))
    elif w > h and abs(w / h / a4 - 1) < 0.12:
        w = int(round(h * a4))
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    return cv2.getPerspectiveTransform(quad, dst), (w, h)


def _long_side(quad: np.ndarray | None) -> float:
    if quad is None:
        return 0.0
    tl, tr, br, bl = quad
    return float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl), np.linalg.norm(bl - tl),
                     np.linalg.norm(br - tr)))


def _quad_angle(quad: np.ndarray | None) -> float:
    if quad is None:
        return 0.0
    tl, tr = quad[0], quad[1]
    return float(-math.degrees(math.atan2(tr[1] - tl[1], tr[0] - tl[0])))


# --- ink -----------------------------------------------------------------------------------------


def _ink_mask(gray: np.ndarray, paper: np.ndarray | None, mm: float) -> np.ndarray:
    """Ink (255) on the sheet, ~1 mm in from its edge (``paper`` None: the whole image is the sheet)."""
    k = int(round(8 * mm)) | 1
    bg = cv2.dilate(gray, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    norm = cv2.divide(gray, bg, dst=bg, scale=255)
    ink = cv2.threshold(norm, 184, 255, cv2.THRESH_BINARY_INV)[1]  # norm < 185
    if paper is None:
        return ink
    inner = cv2.erode(paper, cv2.getStructuringElement(cv2.MORPH_RECT, (int(2 * mm) | 1, int(2 * mm) | 1)))
    return cv2.bitwise_and(ink, inner, dst=ink)


def _box_through(m: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = box
    c = m @ np.array([x + w / 2, y + h / 2, 1.0])
    c = c / c[2]
    return (float(c[0] - w / 2), float(c[1] - h / 2), w, h)


def _glyphs(ink: np.ndarray, mm: float) -> tuple[np.ndarray, int, tuple[tuple[float, float, float, float], ...],
                                                tuple[float, float]]:
    """Keep text-sized components; count those the size of a letter (and take their median height and
    width, px); find punch holes."""
    n, labels, stats = _components_with_stats(ink)
    if n <= 1:
        return np.zeros_like(ink), 0, (), (0.0, 0.0)
    ww, hh, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    keep = (area >= 3) & (hh <= 9 * mm) & (ww <= 25 * mm)
    fill = area / np.maximum(1, ww * hh)
    keep &= ~((ww > 3 * mm) & (hh > 3 * mm) & (fill > 0.6))  # solid blobs: holes, photos, bars
    keep &= ~((ww > 4 * mm) & (ww > 5 * hh))  # rules and underlines
    keep &= ~((hh > 4 * mm) & (hh > 5 * ww))
    keep[0] = False
    letters = keep & (hh >= 1.2 * mm) & (hh <= 7 * mm) & (ww >= 0.3 * mm)
    # punch holes: solid round blobs 4-9 mm across, within 25 mm of a side of the sheet
    H, W = ink.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    near = (x < 25 * mm) | (y < 25 * mm) | (x + ww > W - 25 * mm) | (y + hh > H - 25 * mm)
    round_ = (np.minimum(ww, hh) >= 3.5 * mm) & (np.maximum(ww, hh) <= 9 * mm) & (fill > 0.65) & (fill < 0.9)
    round_ &= np.abs(ww - hh) <= 0.25 * np.maximum(ww, hh)
    round_[0] = False
    holes = tuple((float(x[i]), float(y[i]), float(ww[i]), float(hh[i])) for i in np.flatnonzero(round_ & near))
    n_letters = int(letters.sum())
    size = (float(np.median(hh[letters])), float(np.median(ww[letters]))) if n_letters else (0.0, 0.0)
    return np.take(keep.astype(np.uint8) * 255, labels), n_letters, holes, size


def _components_with_stats(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components: (count, labels, stats); 16-bit labels (much faster) unless too many."""
    try:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:  # more than 65535 components
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    return n, labels, stats


def _cut_off(glyphs: np.ndarray, paper: np.ndarray, mm: float) -> bool:
    """Text runs into the edge of the sheet: part of the page is probably missing."""
    inner = cv2.erode(paper, cv2.getStructuringElement(cv2.MORPH_RECT, (int(4 * mm) | 1, int(4 * mm) | 1)))
    rim = cv2.bitwise_and(glyphs, cv2.bitwise_not(inner))
    return int(np.count_nonzero(rim)) > 40 * mm


# --- orientation and skew ------------------------------------------------------------------------


def _lines_vertical(glyphs: np.ndarray, mm: float) -> bool | None:
    """Do the text lines run up-down? Letters of a word sit side by side ~0.3 mm apart, lines ~6 mm.

    Closing the gaps along the line direction merges letters into syllables; across it, only
    diacritics join their letters. None when the page does not say (let the profiles decide).
    """
    k = max(2, int(round(1.0 * mm)))
    x, y, w, h = cv2.boundingRect(glyphs)  # the counts need only the text block (and room to grow)
    glyphs = glyphs[max(0, y - k):y + h + k, max(0, x - k):x + w + k]
    nh = cv2.connectedComponents(cv2.dilate(glyphs, np.ones((1, k), np.uint8)), connectivity=8)[0]
    nv = cv2.connectedComponents(cv2.dilate(glyphs, np.ones((k, 1), np.uint8)), connectivity=8)[0]
    ratio = nv / max(1, nh)
    if ratio > 1.25:
        return False
    if ratio < 0.8:
        return True
    return None


def _profile_score(proj: np.ndarray) -> float:
    lo = proj.min()
    hist = np.bincount((proj - lo).astype(np.int32))
    return float(np.dot(hist, hist))


def _best_angle(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """Angle (deg, ccw) whose row profile is sharpest, and that sharpness."""

    def score(a: float) -> float:
        t = math.radians(a)
        return _profile_score(xs * math.sin(t) + ys * math.cos(t))

    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5)
    sc = [score(a) for a in coarse]
    best = float(coarse[int(np.argmax(sc))])
    fine = np.arange(best - 0.5, best + 0.501, 0.05)
    sf = np.array([score(a) for a in fine])
    i = int(np.argmax(sf))
    a = float(fine[i])
    if 0 < i < len(sf) - 1:  # parabolic refinement
        den = sf[i - 1] - 2 * sf[i] + sf[i + 1]
        if den < 0:
            a += 0.05 * 0.5 * (sf[i - 1] - sf[i + 1]) / den
    return a, float(sf[i])


def _orientation_and_skew(xs: np.ndarray, ys: np.ndarray, mm: float,
                          lines_vertical: bool | None = None) -> tuple[int, float, float]:
    """(clockwise rotation to apply, skew in the upright frame, up/down ink ratio)."""
    if xs.size > 150_000:
        step = xs.size // 150_000 + 1
        xs, ys = xs[::step], ys[::step]
    xs = xs - xs.mean()
    ys = ys - ys.mean()
    # text lines horizontal: the points as they are; vertical: turned a quarter clockwise, (x, y) -> (-y, x)
    if lines_vertical is None:  # the sharper of the two best profiles decides
        (a0, s0), (a1, s1) = _best_angle(xs, ys), _best_angle(-ys, xs)
        lines_vertical = s1 > s0
        a = a1 if lines_vertical else a0
    else:
        a = _best_angle(-ys, xs)[0] if lines_vertical else _best_angle(xs, ys)[0]
    if lines_vertical:
        xr, yr, quarter = -ys, xs, 90
    else:
        xr, yr, quarter = xs, ys, 0
    updown = _up_down(xr, yr, a, mm)
    rot = quarter if updown >= 1.0 else quarter + 180
    return rot % 360, a, updown if updown >= 1.0 else 1.0 / max(updown, 1e-6)


def _up_down(xs: np.ndarray, ys: np.ndarray, angle: float, mm: float) -> float:
    """Ink above the x-height band of each text line / ink below it."""
    t = math.radians(angle)
    r = xs * math.sin(t) + ys * math.cos(t)
    lo = r.min()
    hist = np.bincount((r - lo).astype(np.int32)).astype(np.float64)
    if hist.size < 8:
        return 1.0
    sm = np.convolve(hist, np.ones(3) / 3, mode="same")
    win = max(3, int(round(3 * mm)))  # ~ one line pitch at 10-14 pt
    local_max = _running_max(sm, win)
    core = (sm >= 0.5 * local_max) & (sm > 0.05 * sm.max())
    above = below = 0.0
    idx = np.flatnonzero(np.diff(np.concatenate([[0], core.astype(np.int8), [0]])))
    for start, stop in zip(idx[::2], idx[1::2], strict=True):
        xh = stop - start
        if xh < 2:
            continue
        reach = int(round(0.8 * xh))
        above += sm[max(0, start - reach):start].sum()
        below += sm[stop:stop + reach].sum()
    return float(above / below) if below > 0 else (10.0 if above > 0 else 1.0)


def _running_max(a: np.ndarray, win: int) -> np.ndarray:
    k = np.ones((1, 2 * win + 1), np.uint8)
    return cv2.dilate(a.astype(np.float32).reshape(1, -1), k).ravel()
