"""Ingest: find input files, identify them by content and sha256, and load one page at a time.

Pages are decoded one by one in the worker that processes them (never the whole file in memory).
A PDF page is read as a viewer displays it (:mod:`digitize.page.pdfpage`): its scan taken out as it is
when the page is just that image, else the page rendered by poppler.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedPdfError,
    ImageTooLargeError,
    InputError,
    PageError,
    UnsupportedTypeError,
)
from digitize.models import InputKind, SourceFile

log = logging.getLogger(__name__)

A4_LONG_SIDE_INCHES = 11.69
MIN_SIDE_PX = 32  # an image narrower than this (0x0, 1x100000) is not a page
EXIF_ORIENTATION = 0x0112
STRIP_ROWS = 256  # ``to_array`` converts this many rows at a time
# A colour page above this (a gray one above twice this) is decoded reduced by 2, 4 or 8 (``draft_within``,
# ``_decode_reduced``): decoding a colour page costs Pillow 4 bytes a pixel plus the 3 of the array, and a
# worker must stay within 1 GiB. A colour A1 sheet at 300 dpi or a gray A0 one is read whole.
DECODE_PIXELS = 100_000_000


@dataclass(frozen=True)
class Candidate:
    """A file found under an input path, before its bytes are read."""

    path: Path
    source: str  # relative to the folder given (its name when a file was given)


def discover(paths: list[Path]) -> Iterator[Candidate]:
    """Files under the given paths (folders recursively, sorted; hidden files skipped)."""
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(given):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in filenames:
                    if not name.startswith("."):
                        found.append(Path(dirpath) / name)
            for p in sorted(found):
                yield Candidate(p, p.relative_to(given).as_posix())
        else:
            yield Candidate(given, given.name)


def sha256_of(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, streamed."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def detect_kind(head: bytes) -> InputKind:
    """The file type from its first bytes (magic numbers), not its name."""
    if head.startswith(b"\xff\xd8\xff"):
        return InputKind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return InputKind.PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return InputKind.TIFF
    if b"%PDF-" in head[:1024]:
        return InputKind.PDF
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        raise UnsupportedTypeError("a HEIC/HEIF phone photo, which is not supported: save it as JPEG "
                                   "(on the phone: Settings > Camera > Formats > Most Compatible)")
    if head.startswith(b"PK\x03\x04"):
        raise UnsupportedTypeError("a ZIP archive (or a Word/Excel file), not a scan")
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise UnsupportedTypeError("a web page (HTML), not a scan")
    raise UnsupportedTypeError("not a PDF, TIFF, JPEG or PNG file (content does not match any)")


def inspect(path: Path, source: str, *, max_pixels: int, max_pages: int, render_dpi: int) -> SourceFile:
    """Identify a file and count its pages without decoding any page; raise InputError when unusable."""
    try:
        before = path.stat()
        sha, size = sha256_of(path)
        after = path.stat()
    except OSError as e:  # unreadable, a symlink loop, vanished
        raise InputError(f"cannot read the file ({e.strerror or e})", path=source) from e
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or size != after.st_size:
        raise InputError("the file changed while it was read (still being copied?): run again when it is "
                         "complete", path=source)
    if size == 0:
        raise EmptyFileError("empty file (0 bytes)", path=source)
    with open(path, "rb") as f:
        head = f.read(1024)
    try:
        kind = detect_kind(head)
    except InputError as e:
        e.path = source
        raise
    try:
        if kind is InputKind.PDF:
            count = _pdf_page_count(path, max_pixels=max_pixels, render_dpi=render_dpi)
        else:
            count = _image_page_count(path, max_pixels=max_pixels)
    except InputError as e:
        e.path = source
        raise
    if count == 0:
        raise CorruptFileError("the file has no pages", path=source)
    if count > max_pages:
        raise ImageTooLargeError(f"{count} pages is more than the limit of {max_pages}", path=source)
    return SourceFile(path=str(path), source=source, sha256=sha, size=size, kind=kind, page_count=count)


def _pdf_page_count(path: Path, *, max_pixels: int, render_dpi: int) -> int:
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            warnings = pdf.get_warnings()
            if any("damaged" in w or "reconstruct" in w or "EOF" in w for w in warnings):
                raise CorruptFileError(f"damaged or truncated PDF ({_first_line(warnings[0])})")
            for page in pdf.pages:
                box = page.mediabox
                w_in = abs(float(box[2]) - float(box[0])) / 72
                h_in = abs(float(box[3]) - float(box[1])) / 72
                if w_in * h_in * render_dpi * render_dpi > max_pixels:
                    raise ImageTooLargeError(
                        f"a page of {w_in:.0f}x{h_in:.0f} in would be {w_in * render_dpi:.0f}x"
                        f"{h_in * render_dpi:.0f} px at {render_dpi} dpi (limit {max_pixels} px)")
            return len(pdf.pages)
    except pikepdf.PasswordError as e:
        raise EncryptedPdfError("the PDF is encrypted with a password") from e
    except pikepdf.PdfError as e:
        raise CorruptFileError(f"damaged or truncated PDF ({_first_line(str(e))})") from e


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "unknown error"


def _open_image(path: Path):  # type: ignore[no-untyped-def]
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a clear message
    try:
        return Image.open(path)
    except Exception as e:  # Pillow raises many types for bad data; report them all the same way
        raise CorruptFileError(f"cannot read the image ({e.__class__.__name__}: {e})") from e


def _image_page_count(path: Path, *, max_pixels: int) -> int:
    with _open_image(path) as im:
        count = getattr(im, "n_frames", 1)
        for i in range(count):
            if i:
                im.seek(i)
            w, h = im.size
            if min(w, h) < MIN_SIDE_PX:
                raise CorruptFileError(f"page {i + 1} is {w}x{h} px: too small to be a scanned page")
            if w * h > max_pixels:
                raise ImageTooLargeError(f"page {i + 1} is {w}x{h} px, more than the limit of {max_pixels} px "
                                         "(possible decompression bomb)")
        return count


HEAVY_PIXELS = 40_000_000  # a page larger than this (an A4 sheet at 600 dpi is 35 MP) runs alone in a run


def heavy_pages(path: Path, kind: InputKind, *, max_resolution: float = 600.0) -> set[int] | None:
    """Pages (1-based) that may decode to more than ``HEAVY_PIXELS``: run alone, two of them side by side
    could pass 1 GiB. Read from the headers (an image's size; a PDF page's box at ``max_resolution``,
    the finest a page is rendered at), nothing decoded. None when the sizes cannot be read: every page."""
    heavy = set()
    try:
        if kind is InputKind.PDF:
            import pikepdf

            with pikepdf.open(path) as pdf:
                for i, page in enumerate(pdf.pages, start=1):
                    box = page.cropbox
                    unit = float(page.obj.get("/UserUnit", 1.0))
                    w_in = abs(float(box[2]) - float(box[0])) * unit / 72
                    h_in = abs(float(box[3]) - float(box[1])) * unit / 72
                    if w_in * h_in * max_resolution ** 2 > HEAVY_PIXELS:
                        heavy.add(i)
        else:
            with _open_image(path) as im:
                for i in range(getattr(im, "n_frames", 1)):
                    if i:
                        im.seek(i)
                    if im.size[0] * im.size[1] > HEAVY_PIXELS:
                        heavy.add(i + 1)
    except Exception as e:  # noqa: BLE001 - a file inspect() accepted; when in doubt, every page is heavy
        log.warning("%s: page sizes unknown (%s): its pages run one at a time", path.name, e.__class__.__name__)
        return None
    return heavy


# --- loading one page (runs in a worker process) --------------------------------------------------


@dataclass(frozen=True)
class LoadedPage:
    """A decoded page image and its resolution."""

    image: np.ndarray  # uint8 gray (HxW) or BGR (HxWx3)
    dpi: float  # 0 when the file does not say


def load_page(path: Path, kind: InputKind, page: int, *, render_dpi: int, max_pixels: int) -> LoadedPage:
    """Decode page ``page`` (1-based) of a file."""
    if kind is InputKind.PDF:
        return _load_pdf_page(path, page, render_dpi=render_dpi, max_pixels=max_pixels)
    return _load_image_page(path, page, max_pixels=max_pixels)


def to_array(im) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A Pillow image as a uint8 gray (HxW) or BGR (HxWx3) array; ``im`` is closed.

    Converted in strips of rows, so that only one full-size copy of the pixels is made besides Pillow's
    own (which is released at the end): no converted copy, no ``tobytes`` of the whole page.
    """
    w, h = im.size
    sixteen = im.mode.startswith("I;16")  # 16-bit samples: keep the top 8 bits (convert("L") would clip them)
    gray = sixteen or im.mode in ("1", "L", "I", "F")
    out = np.empty((h, w) if gray else (h, w, 3), np.uint8)
    for y0 in range(0, h, STRIP_ROWS):
        y1 = min(h, y0 + STRIP_ROWS)
        with im.crop((0, y0, w, y1)) as strip:
            if sixteen:
                out[y0:y1] = np.asarray(strip).astype(np.uint32) >> 8
                continue
            if gray:
                part = strip if strip.mode == "L" else strip.convert("L")
                raw = part.tobytes()
            else:
                part = strip.convert("RGBA") if strip.mode in ("RGBA", "LA", "PA") else strip
                part = part if part.mode == "RGB" else part.convert("RGB")
                raw = part.tobytes("raw", "BGR")
            out[y0:y1] = np.frombuffer(raw, np.uint8).reshape(out[y0:y1].shape)
    im.close()
    return out


def _image_dpi(im) -> float:  # type: ignore[no-untyped-def]
    dpi = im.info.get("dpi")
    # 72 and 96 are what cameras and editors write when they know nothing: treat as unknown
    if dpi and float(dpi[0]) > 100:
        return float(dpi[0])
    return 0.0


def _load_image_page(path: Path, page: int, *, max_pixels: int) -> LoadedPage:
    from PIL import ImageOps

    with _open_image(path) as im:
        try:
            im.seek(page - 1)
            if im.size[0] * im.size[1] > max_pixels:
                raise ImageTooLargeError(f"page {page} is {im.size[0]}x{im.size[1]} px (limit {max_pixels} px)")
            dpi = _image_dpi(im)
            full_width = im.size[0]
            if not draft_within(im):
                gray = im.mode in ("1", "L", "I", "F") or im.mode.startswith("I;16")
                arr = _decode_reduced(path, page, im.size, gray=gray)
                return LoadedPage(arr, dpi * arr.shape[1] / full_width if dpi else _guess_dpi(arr))
            im.load()
            if dpi and im.size[0] != full_width:
                dpi *= im.size[0] / full_width
            if page == 1 and im.getexif().get(EXIF_ORIENTATION, 1) != 1:
                ImageOps.exif_transpose(im, in_place=True)
            arr = to_array(im)
        except (OSError, EOFError, ValueError) as e:
            raise PageError(f"cannot decode page {page} ({e.__class__.__name__}: {e})") from e
    return LoadedPage(arr, dpi or _guess_dpi(arr))


def _decode_reduced(path: Path, page: int, size: tuple[int, int], *, gray: bool) -> np.ndarray:
    """A PNG or TIFF page above its decoding budget, decoded by OpenCV (3 bytes a colour pixel, where
    Pillow takes 4) reduced by 2, 4 or 8 (a first page by ``imread``'s own reduction, which holds one
    full-size copy; a later one by ``imreadmulti`` and a resize, which hold two)."""
    import cv2

    k = _reduction(size, decode_budget(gray))
    reduced = {(2, True): cv2.IMREAD_REDUCED_GRAYSCALE_2, (4, True): cv2.IMREAD_REDUCED_GRAYSCALE_4,
               (8, True): cv2.IMREAD_REDUCED_GRAYSCALE_8, (2, False): cv2.IMREAD_REDUCED_COLOR_2,
               (4, False): cv2.IMREAD_REDUCED_COLOR_4, (8, False): cv2.IMREAD_REDUCED_COLOR_8}[k, gray]
    arr = None
    if page == 1:
        arr = cv2.imread(str(path), reduced | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        flags = (cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION
        ok, mats = cv2.imreadmulti(str(path), start=page - 1, count=1, flags=flags)
        if ok and mats and mats[0] is not None:
            full = mats[0]
            del mats
            arr = cv2.resize(full, None, fx=1 / k, fy=1 / k, interpolation=cv2.INTER_AREA)
    if arr is None or arr.dtype != np.uint8:
        raise PageError(f"cannot decode page {page} ({size[0]}x{size[1]} px) at a reduced size")
    log.info("a %dx%d px page is read at %dx%d px (1/%d) to stay within memory", *size, arr.shape[1],
             arr.shape[0], k)
    return arr


def decode_budget(gray: bool) -> int:
    """Pixels a page may be decoded at: a gray page costs a third of a colour one."""
    return 2 * DECODE_PIXELS if gray else DECODE_PIXELS


def _reduction(size: tuple[int, int], budget: int) -> int:
    """The least of 1, 2, 4, 8 that brings a ``size`` image within ``budget`` pixels (8 at most)."""
    w, h = size
    k = 1
    while k < 8 and (w // k) * (h // k) > budget:
        k *= 2
    return k


def draft_within(im) -> bool:  # type: ignore[no-untyped-def]
    """Whether a not yet decoded Pillow image fits its decoding budget (``DECODE_PIXELS``) once decoded.

    A JPEG above it is set to decode at 1/2, 1/4 or 1/8 of its size (the decoder's own reduction, so the
    full-size image is never held), the least reduction that fits.
    """
    gray = im.mode in ("1", "L", "I", "F") or im.mode.startswith("I;16")
    k = _reduction(im.size, decode_budget(gray))
    if k == 1:
        return True
    if im.format != "JPEG":
        return False
    w, h = im.size
    im.draft(im.mode, (-(-w // k), -(-h // k)))
    log.info("a %dx%d px JPEG is decoded at %dx%d px (1/%d) to stay within memory", w, h, *im.size, k)
    return True


def _guess_dpi(arr: np.ndarray) -> float:
    """Resolution of a photo or an image without dpi, assuming an A4 page fills it."""
    return max(arr.shape[:2]) / A4_LONG_SIDE_INCHES


def _load_pdf_page(path: Path, page: int, *, render_dpi: int, max_pixels: int) -> LoadedPage:
    from digitize.page.pdfpage import load_pdf_page

    got = load_pdf_page(path, page, render_dpi=render_dpi, max_pixels=max_pixels)
    return LoadedPage(got.image, got.dpi)
