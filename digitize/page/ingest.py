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
    """A Pillow image as a uint8 gray (HxW) or BGR (HxWx3) array."""
    import cv2

    if im.mode.startswith("I;16"):  # 16-bit samples: keep the top 8 bits (convert("L") would clip them)
        return np.ascontiguousarray((np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8))
    if im.mode in ("1", "L", "I", "F"):
        arr = np.asarray(im.convert("L"))
        return np.ascontiguousarray(arr)
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA").convert("RGB") if im.mode != "P" else im.convert("RGB")
    if im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)


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
            im.load()
            if page == 1:
                im = ImageOps.exif_transpose(im)
            arr = to_array(im)
        except (OSError, EOFError, ValueError) as e:
            raise PageError(f"cannot decode page {page} ({e.__class__.__name__}: {e})") from e
    return LoadedPage(arr, dpi or _guess_dpi(arr))


def _guess_dpi(arr: np.ndarray) -> float:
    """Resolution of a photo or an image without dpi, assuming an A4 page fills it."""
    return max(arr.shape[:2]) / A4_LONG_SIDE_INCHES


def _load_pdf_page(path: Path, page: int, *, render_dpi: int, max_pixels: int) -> LoadedPage:
    from digitize.page.pdfpage import load_pdf_page

    got = load_pdf_page(path, page, render_dpi=render_dpi, max_pixels=max_pixels)
    return LoadedPage(got.image, got.dpi)
