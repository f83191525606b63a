"""One PDF page as a viewer displays it: the scan taken out as it is when that is exactly what is shown,
else the page rendered by poppler at the resolution of its images.

The fast path (no re-rendering, the scanner's own pixels) applies only to the trivial page: one image
painted once, upright and unflipped, filling the crop box, with no mask, soft mask, text, vector art,
form or inline image, in an encoding pikepdf decodes here. Anything else — an image placed with a
rotation, skew or flip in its matrix, strips or tiles, masks, a crop box that cuts the image, text over
the scan, JBIG2 without ``jbig2dec``, CMYK JPEG, 16-bit samples — is rendered by poppler, which applies
the whole page description (matrices, ``/Rotate``, crop box, masks) and decodes every compression.
``/UserUnit`` (which poppler ignores) only changes the physical size, so the reported dpi.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import CorruptFileError, ImageTooLargeError

log = logging.getLogger(__name__)

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
SIMPLE_OPERATORS = {"q", "Q", "cm", "Do"}
MIN_RESOLUTION, MAX_RESOLUTION = 72.0, 600.0
GRAY_SPACES = {"/DeviceGray", "/CalGray"}


@dataclass(frozen=True)
class Placed:
    """An image XObject painted on the page, with the transformation matrix in force when painted."""

    width: int  # pixels
    height: int
    matrix: Matrix
    gray: bool  # 1-bit, gray or a stencil mask
    area: float  # square points covered on the page


@dataclass(frozen=True)
class PageLayout:
    """What decides how a page is read: its crop box, rotation, unit and the images it paints."""

    crop: tuple[float, float, float, float]  # x0, y0, x1, y1 in points
    rotate: int
    user_unit: float
    placed: tuple[Placed, ...]
    direct: str | None  # the image's resource name when the page is one image filling it, else None
    why_render: str  # why the page is rendered (empty when direct)
    has_text: bool


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF row-vector convention: ``cm`` with m on CTM n gives m x n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2)


def _is_gray(xobj) -> bool:  # type: ignore[no-untyped-def]
    if bool(xobj.get("/ImageMask", False)) or int(xobj.get("/BitsPerComponent", 8)) == 1:
        return True
    cs = xobj.get("/ColorSpace")
    if cs is None:
        return "/JPXDecode" not in str(xobj.get("/Filter", ""))  # JPX carries its own colour space
    if str(cs) in GRAY_SPACES:
        return True
    try:
        return str(cs[0]) == "/ICCBased" and int(cs[1].get("/N", 3)) == 1
    except (TypeError, IndexError, KeyError, AttributeError):
        return False


def analyse(pg) -> PageLayout:  # type: ignore[no-untyped-def]
    """The layout of a pikepdf page (its content stream walked, nothing decoded)."""
    import pikepdf

    box = pg.obj.get("/CropBox", None) or pg.mediabox
    x0, y0, x1, y1 = (float(v) for v in box)
    crop = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    rotate = round(int(pg.obj.get("/Rotate", 0)) / 90) * 90 % 360
    user_unit = float(pg.obj.get("/UserUnit", 1.0)) or 1.0
    res = pg.obj.get("/Resources", None)
    xobjects = res.get("/XObject", {}) if res is not None else {}
    has_text = bool(res is not None and res.get("/Font", None))
    placed: list[Placed] = []
    used: list[str] = []
    operators: set[str] = set()
    try:
        ctm, stack = IDENTITY, []
        for operands, op in pikepdf.parse_content_stream(pg):
            name = str(op)
            operators.add(name)
            if name == "q":
                stack.append(ctm)
            elif name == "Q":
                ctm = stack.pop() if stack else IDENTITY
            elif name == "cm" and len(operands) == 6:
                ctm = _mul(tuple(float(v) for v in operands), ctm)  # type: ignore[arg-type]
            elif name == "Do" and operands:
                used.append(str(operands[0]))
                xobj = xobjects.get(str(operands[0]), None)
                if xobj is not None and xobj.get("/Subtype") == "/Image":
                    a, b, c, d = ctm[:4]
                    placed.append(Placed(int(xobj.get("/Width", 0)), int(xobj.get("/Height", 0)), ctm,
                                         _is_gray(xobj), abs(a * d - b * c)))
    except pikepdf.PdfError as e:
        return PageLayout(crop, rotate, user_unit, tuple(placed), None, f"content stream unreadable ({e})", has_text)
    why = _why_not_direct(crop, operators, used, placed, xobjects, has_text)
    return PageLayout(crop, rotate, user_unit, tuple(placed), None if why else used[0], why, has_text)


def _why_not_direct(crop, operators, used, placed, xobjects, has_text) -> str:  # type: ignore[no-untyped-def]
    if has_text:
        return "the page carries text"
    if operators - SIMPLE_OPERATORS:
        return "the page draws more than an image (" + " ".join(sorted(operators - SIMPLE_OPERATORS))[:60] + ")"
    if len(used) != 1 or len(placed) != 1:
        return f"the page paints {len(used)} objects"
    xobj = xobjects[used[0]]
    for key in ("/SMask", "/Mask", "/SMaskInData"):
        if key in xobj:
            return f"the image has {key}"
    if bool(xobj.get("/ImageMask", False)):
        return "the image is a stencil mask"
    bpc = int(xobj.get("/BitsPerComponent", 8))
    if "/Decode" in xobj and bpc != 1:
        return "the image has a /Decode array"
    if bpc not in (1, 8):
        return f"{bpc}-bit samples"
    filters = str(xobj.get("/Filter", ""))
    cs = str(xobj.get("/ColorSpace", ""))
    if "/DeviceCMYK" in cs or "/Separation" in cs or "/DeviceN" in cs or "/Lab" in cs:
        return f"colour space {cs[:40]}"
    if "/JBIG2Decode" in filters:
        return "JBIG2 (decoded by poppler)"
    a, b, c, d, e, f = placed[0].matrix
    if a <= 0 or d <= 0 or abs(b) > 1e-3 * a or abs(c) > 1e-3 * d:
        return "the image is rotated, skewed or flipped by its matrix"
    cx0, cy0, cx1, cy1 = crop
    tol_x, tol_y = max(2.0, 0.01 * (cx1 - cx0)), max(2.0, 0.01 * (cy1 - cy0))
    if abs(e - cx0) > tol_x or abs(e + a - cx1) > tol_x or abs(f - cy0) > tol_y or abs(f + d - cy1) > tol_y:
        return "the image does not fill the crop box"
    return ""


def image_resolution(layout: PageLayout, default: float) -> float:
    """Pixels per inch (of 72 pt) at which the page's main image is painted; ``default`` without images."""
    if not layout.placed:
        return float(default)
    main = max(layout.placed, key=lambda p: p.area)
    a, b, c, d = main.matrix[:4]
    w_in, h_in = math.hypot(a, b) / 72, math.hypot(c, d) / 72
    if w_in <= 0 or h_in <= 0:
        return float(default)
    res = max(main.width / w_in, main.height / h_in)
    return min(MAX_RESOLUTION, max(MIN_RESOLUTION, res))


@dataclass(frozen=True)
class PdfPage:
    """A decoded PDF page: image and resolution, and how it was obtained."""

    image: np.ndarray
    dpi: float
    rendered: bool


def load_pdf_page(path: Path, page: int, *, render_dpi: int, max_pixels: int) -> PdfPage:
    """Page ``page`` (1-based) as a viewer displays it (see the module's docstring)."""
    import pikepdf

    from digitize.page.ingest import decode_budget
    from digitize.page.render import render_page

    try:
        with pikepdf.open(path) as pdf:
            pg = pdf.pages[page - 1]
            layout = analyse(pg)
            if layout.direct:
                got = _direct_image(pg, layout, page, max_pixels=max_pixels)
                if got is not None:
                    return got
                why = "pikepdf cannot decode the image"
            else:
                why = layout.why_render
    except pikepdf.PdfError as e:
        raise CorruptFileError(f"cannot read page {page} of the PDF ({str(e)[:200]})") from e
    for p in layout.placed:  # a decompression bomb is refused before anything decodes it
        if p.width * p.height > max_pixels:
            raise ImageTooLargeError(f"page {page} image is {p.width}x{p.height} px (limit {max_pixels} px)")
    res = image_resolution(layout, render_dpi)
    x0, y0, x1, y1 = layout.crop
    w_in, h_in = (x1 - x0) / 72, (y1 - y0) / 72
    if w_in * h_in * res * res > max_pixels:  # a huge page: render it coarser, never beyond the limit
        res = math.sqrt(max_pixels / max(w_in * h_in, 1e-9))
        if res < MIN_RESOLUTION / 2:
            raise ImageTooLargeError(f"page {page} is {w_in:.0f}x{h_in:.0f} in, too large to render "
                                     f"within {max_pixels} px")
    gray = bool(layout.placed) and all(p.gray for p in layout.placed) and not layout.has_text
    budget = decode_budget(gray)  # memory: a colour page is rendered within fewer pixels than a gray one
    if w_in * h_in * res * res > budget:
        res = math.sqrt(budget / max(w_in * h_in, 1e-9))
    log.debug("page %d rendered by poppler at %.0f ppi: %s", page, res, why)
    arr = render_page(path, page, resolution=res, gray=gray)
    return PdfPage(arr, res / layout.user_unit, True)


def _direct_image(pg, layout: PageLayout, page: int, *, max_pixels: int) -> PdfPage | None:  # type: ignore[no-untyped-def]
    """The page's one image, decoded by pikepdf and turned by ``/Rotate``; None when pikepdf cannot."""
    import pikepdf

    from digitize.page.ingest import draft_within, to_array

    pim = pikepdf.PdfImage(pg.obj["/Resources"]["/XObject"][layout.direct])
    if pim.width * pim.height > max_pixels:
        raise ImageTooLargeError(f"page {page} image is {pim.width}x{pim.height} px (limit {max_pixels} px)")
    try:
        im = pim.as_pil_image()
        if not draft_within(im):  # a colour image too large to decode whole: poppler renders it coarser
            im.close()
            return None
    except Exception as e:  # noqa: BLE001 - any decoder failure (missing jbig2dec, odd encoding): poppler renders
        log.info("page %d: the image cannot be taken out as it is (%s: %s); rendering it",
                 page, e.__class__.__name__, str(e)[:120])
        return None
    arr = to_array(im)
    x0, _, x1, _ = layout.crop
    w_in = (x1 - x0) / 72 * layout.user_unit
    dpi = arr.shape[1] / w_in if w_in else 0.0
    if layout.rotate:
        import cv2

        code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}[layout.rotate]
        arr = cv2.rotate(arr, code)
    return PdfPage(arr, dpi, False)
