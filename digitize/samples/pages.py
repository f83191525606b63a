"""Generate page images: Vietnamese administrative text rendered with Liberation Serif, then degraded.

The font comes from :func:`digitize.samples.documents.font` (one place that knows where Liberation Serif lives).

Every function is deterministic for a given ``seed`` and returns a ``uint8`` numpy array: gray ``HxW``
or BGR ``HxWx3`` (OpenCV order), as a scanner or ``cv2.imdecode`` would hand it over.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw

from digitize.samples.documents import font

A4_MM = (210.0, 297.0)

HEADER_LEFT = ("ỦY BAN NHÂN DÂN", "HUYỆN KIẾN XƯƠNG", "Số: 123/QĐ-UBND")
HEADER_RIGHT = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                "Kiến Xương, ngày 15 tháng 6 năm 2021")
TITLE = ("QUYẾT ĐỊNH", "Về việc cấp Giấy chứng nhận quyền sử dụng đất")
BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Đất đai ngày 29 tháng 11 năm 2013;",
    "Xét đề nghị của Trưởng phòng Tài nguyên và Môi trường huyện,",
    "Điều 1. Cấp Giấy chứng nhận quyền sử dụng đất cho ông Nguyễn Văn Bình,",
    "địa chỉ thôn Đồng Tâm, xã Vũ Ninh, huyện Kiến Xương, tỉnh Thái Bình.",
    "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
    "Chánh Văn phòng Hội đồng nhân dân và Ủy ban nhân dân huyện, Trưởng phòng",
    "Tài nguyên và Môi trường, ông Nguyễn Văn Bình chịu trách nhiệm thi hành",
    "Quyết định này./.",
)
FOOTER_RIGHT = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "", "", "", "Trần Thị Hoa")


def a4_size(dpi: float) -> tuple[int, int]:
    """(width, height) in pixels of an A4 page at ``dpi``."""
    return round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi)


def render_page(dpi: float = 300, *, body: tuple[str, ...] = BODY, pt: float = 13.0, header: bool = True,
                footer: bool = True) -> np.ndarray:
    """A clean upright A4 administrative document (gray), laid out as Decree 30/2020 asks."""
    w, h = a4_size(dpi)
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    px = round(pt / 72 * dpi)
    f, fb = font(px), font(px, bold=True)
    hf, hfb = font(round(px * 12 / 13)), font(round(px * 12 / 13), bold=True)
    lh = round(px * 1.45)
    mm = dpi / 25.4
    left, top, right = round(30 * mm), round(20 * mm), w - round(15 * mm)
    y = top
    if header:
        for i, (a, b) in enumerate(zip(HEADER_LEFT, HEADER_RIGHT, strict=True)):
            fa = hfb if i < 2 else hf
            d.text((round(55 * mm), y), a, font=fa, fill=0, anchor="ma")
            d.text((round(143 * mm), y), b, font=fa, fill=0, anchor="ma")
            y += lh
        y += lh
        for i, t in enumerate(TITLE):
            d.text((w // 2, y), t, font=fb if i == 0 else f, fill=0, anchor="ma")
            y += lh
        y += lh // 2
    for line in body:
        d.text((left + (round(10 * mm) if line[:2] in ("Că", "Xé", "Đi") else 0), y), line, font=f, fill=0)
        y += lh
    if footer:
        y += lh
        for t in FOOTER_RIGHT:
            if t:
                d.text((right - round(45 * mm), y), t, font=fb, fill=0, anchor="ma")
            y += lh
    return np.asarray(img).copy()


def render_short_line(dpi: float = 300, text: str = "Trang này để trống có chủ ý") -> np.ndarray:
    """A near-blank page: one short line of text in the upper third."""
    w, h = a4_size(dpi)
    img = Image.new("L", (w, h), 255)
    ImageDraw.Draw(img).text((w // 4, h // 4), text, font=font(round(13 / 72 * dpi)), fill=0)
    return np.asarray(img).copy()


def blank_page(dpi: float = 300, *, seed: int = 0, bleed: bool = True, noise: float = 6.0) -> np.ndarray:
    """An empty sheet: paper grain, light noise and (optionally) faint mirrored bleed-through."""
    rng = np.random.default_rng(seed)
    w, h = a4_size(dpi)
    page = np.full((h, w), 238.0)
    if bleed:
        ghost = render_page(dpi)[:, ::-1].astype(np.float32)
        ghost = cv2.GaussianBlur(ghost, (0, 0), 2.0)
        page -= (255.0 - ghost) / 255.0 * 22.0  # show-through of the back, ~20 levels deep
    page += rng.normal(0, noise, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


# --- geometry ------------------------------------------------------------------------------------


def rotate90(img: np.ndarray, ccw_deg: int) -> np.ndarray:
    """Rotate counter-clockwise by 0/90/180/270 degrees (the page was scanned that way round)."""
    return np.ascontiguousarray(np.rot90(img, (ccw_deg // 90) % 4))


def skew(img: np.ndarray, deg: float, fill: int = 255) -> np.ndarray:
    """Rotate by a small angle (positive = counter-clockwise), keeping the whole page in view."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    c, s = abs(math.cos(math.radians(deg))), abs(math.sin(math.radians(deg)))
    nw, nh = int(h * s + w * c), int(h * c + w * s)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    border = (fill,) * 3 if img.ndim == 3 else fill
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)


def black_border(img: np.ndarray, mm: float = 8.0, dpi: float = 300, *, seed: int = 0) -> np.ndarray:
    """Frame the page in the dark scanner lid: uneven black bands on every side."""
    rng = np.random.default_rng(seed)
    px = round(mm / 25.4 * dpi)
    t, b, lft, r = (int(px * f) for f in rng.uniform(0.6, 1.4, 4))
    h, w = img.shape[:2]
    out = np.full((h + t + b, w + lft + r) + img.shape[2:], 18, np.uint8)
    out[t:t + h, lft:lft + w] = img
    noise = rng.normal(0, 6, out.shape[:2])
    mask = np.ones(out.shape[:2], bool)
    mask[t:t + h, lft:lft + w] = False
    dark = np.clip(18 + noise, 0, 255).astype(np.uint8)
    if out.ndim == 3:
        out[mask] = dark[mask][:, None]
    else:
        out[mask] = dark[mask]
    return out


# --- degradations --------------------------------------------------------------------------------


def salt_pepper(img: np.ndarray, amount: float = 0.004, *, seed: int = 0) -> np.ndarray:
    """Isolated black and white pixels."""
    rng = np.random.default_rng(seed)
    out = img.copy()
    r = rng.random(img.shape[:2])
    out[r < amount / 2] = 0
    out[r > 1 - amount / 2] = 255
    return out


def speckle(img: np.ndarray, count: int = 1500, dpi: float = 300, *, seed: int = 0) -> np.ndarray:
    """Dust: small dark blobs of 1-3 px radius scattered over the page."""
    rng = np.random.default_rng(seed)
    out = img.copy()
    h, w = img.shape[:2]
    scale = dpi / 300
    for _ in range(count):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(out, c, max(1, int(rng.integers(1, 4) * scale)), (int(rng.integers(0, 90)),) * 3, -1)
    return out


def gaussian_noise(img: np.ndarray, sigma: float = 10.0, *, seed: int = 0) -> np.ndarray:
    """Sensor noise."""
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int = 30) -> np.ndarray:
    """Round trip through a low-quality JPEG (blocking and ringing artefacts)."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def fade(img: np.ndarray, ink: int = 150) -> np.ndarray:
    """Faded toner: black becomes gray ``ink``, paper stays as it is."""
    f = img.astype(np.float32) / 255.0
    return np.clip(ink + f * (255 - ink), 0, 255).astype(np.uint8)


def uneven_light(img: np.ndarray, depth: float = 0.45) -> np.ndarray:
    """A shadow falling across the page: brightness drops to ``1 - depth`` towards one corner."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = 1.0 - depth * ((xx / w) * 0.6 + (yy / h) * 0.4) ** 1.5
    if img.ndim == 3:
        g = g[..., None]
    return np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)


def blur(img: np.ndarray, sigma: float = 2.5) -> np.ndarray:
    """Out-of-focus or moving-sensor blur."""
    return cv2.GaussianBlur(img, (0, 0), sigma)


def punch_holes(img: np.ndarray, dpi: float = 300) -> np.ndarray:
    """Two filing holes (6 mm, dark) in the left margin, 80 mm apart."""
    out = img.copy()
    h = img.shape[0]
    mm = dpi / 25.4
    for y in (h / 2 - 40 * mm, h / 2 + 40 * mm):
        cv2.circle(out, (round(12 * mm), round(y)), round(3 * mm), (25, 25, 25), -1, cv2.LINE_AA)
    return out


def red_seal(img: np.ndarray, center: tuple[int, int] | None = None, dpi: float = 300,
             text: str = "ỦY BAN NHÂN DÂN HUYỆN KIẾN XƯƠNG") -> np.ndarray:
    """Stamp a red round seal (rings, ring text, star) over the page; returns BGR.

    The ink multiplies with what is beneath, as a real stamp on toner does: black text stays black.
    """
    bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
    h, w = bgr.shape[:2]
    mm = dpi / 25.4
    r = round(18 * mm)
    cx, cy = center or (w // 2, h // 2)
    layer = Image.new("L", (2 * r + 4, 2 * r + 4), 0)
    d = ImageDraw.Draw(layer)
    c = r + 2
    d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=round(0.8 * mm))
    d.ellipse((c - r * 0.72, c - r * 0.72, c + r * 0.72, c + r * 0.72), outline=255, width=round(0.4 * mm))
    f = font(round(3.2 * mm), bold=True)
    n = len(text)
    for i, ch in enumerate(text):
        a = math.pi * (1.15 + 1.7 * i / max(1, n - 1))
        x, y = c + r * 0.86 * math.cos(a), c + r * 0.86 * math.sin(a)
        d.text((x, y), ch, font=f, fill=255, anchor="mm")
    star = [(c + r * 0.4 * (1 if k % 2 == 0 else 0.4) * math.cos(math.pi / 2 + k * math.pi / 5),
             c - r * 0.4 * (1 if k % 2 == 0 else 0.4) * math.sin(math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    d.polygon(star, fill=255)
    a = np.asarray(layer, np.float32) / 255.0 * 0.85
    y0, x0 = cy - c, cx - c
    roi = bgr[y0:y0 + a.shape[0], x0:x0 + a.shape[1]].astype(np.float32)
    ink = np.array([40, 40, 215], np.float32)  # BGR red
    stamped = roi * (1 - a[..., None]) + (roi * ink / 255.0) * a[..., None]
    bgr[y0:y0 + a.shape[0], x0:x0 + a.shape[1]] = np.clip(stamped, 0, 255).astype(np.uint8)
    return bgr


def blue_signature(img: np.ndarray, center: tuple[int, int], dpi: float = 300, *, seed: int = 0) -> np.ndarray:
    """A blue ballpoint scribble over the page (BGR)."""
    rng = np.random.default_rng(seed)
    bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
    mm = dpi / 25.4
    t = np.linspace(0, 4 * math.pi, 200)
    xs = center[0] + (t / (4 * math.pi) - 0.5) * 50 * mm + 4 * mm * np.sin(3 * t + rng.uniform(0, 1))
    ys = center[1] + 6 * mm * np.sin(2 * t)
    pts = np.stack([xs, ys], 1).astype(np.int32)
    layer = np.zeros(bgr.shape[:2], np.uint8)
    cv2.polylines(layer, [pts], False, 255, max(1, round(0.5 * mm)), cv2.LINE_AA)
    a = layer.astype(np.float32)[..., None] / 255.0
    ink = np.array([170, 60, 30], np.float32)
    out = bgr.astype(np.float32) * (1 - a) + bgr.astype(np.float32) * ink / 255.0 * a
    return np.clip(out, 0, 255).astype(np.uint8)


def perspective_photo(img: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """A phone photo: the page, tilted in perspective, lying on a dark brown desk (BGR)."""
    rng = np.random.default_rng(seed)
    bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img
    h, w = bgr.shape[:2]
    W, H = int(w * 1.25), int(h * 1.2)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = lambda s: rng.uniform(-s, s)  # noqa: E731
    dst = np.float32([[0.12 * W + j(30), 0.08 * H + j(30)], [0.88 * W + j(30), 0.1 * H + j(30)],
                      [0.92 * W + j(30), 0.93 * H + j(30)], [0.07 * W + j(30), 0.9 * H + j(30)]])
    m = cv2.getPerspectiveTransform(src, dst)
    desk = np.empty((H, W, 3), np.uint8)
    desk[:] = (40, 70, 100)
    desk = gaussian_noise(desk, 12, seed=seed)
    out = cv2.warpPerspective(bgr, m, (W, H), dst=desk, borderMode=cv2.BORDER_TRANSPARENT)
    return out


def frame_and_table(img: np.ndarray, dpi: float = 300, *, rows: int = 3,
                    cells: tuple[str, ...] = ("Số thửa", "Tờ bản đồ", "Diện tích")) -> np.ndarray:
    """A certificate-style double frame around the page and a ruled table (text in its cells) near the bottom.

    Rules are 0.3-0.6 mm thick, as printed tables and frames are; the table sits 60 mm above the bottom.
    """
    out = img.copy()
    h, w = img.shape[:2]
    mm = dpi / 25.4
    for inset, th in ((6, 0.6), (8, 0.3)):
        cv2.rectangle(out, (round(inset * mm), round(inset * mm)), (w - round(inset * mm), h - round(inset * mm)),
                      (0, 0, 0), max(1, round(th * mm)))
    x0, y0, cw, rh = round(30 * mm), h - round(60 * mm), round(50 * mm), round(9 * mm)
    t = max(1, round(0.3 * mm))
    for r in range(rows + 1):
        cv2.line(out, (x0, y0 + r * rh), (x0 + len(cells) * cw, y0 + r * rh), (0, 0, 0), t)
    for c in range(len(cells) + 1):
        cv2.line(out, (x0 + c * cw, y0), (x0 + c * cw, y0 + rows * rh), (0, 0, 0), t)
    pil = Image.fromarray(out)
    d = ImageDraw.Draw(pil)
    f = font(round(12 / 72 * dpi))
    for r in range(rows):
        for c, text in enumerate(cells):
            d.text((x0 + c * cw + round(3 * mm), y0 + r * rh + round(2 * mm)),
                   text if r == 0 else f"{(r * 7 + c * 13) % 97 + 1}", font=f, fill=0)
    return np.asarray(pil).copy()
