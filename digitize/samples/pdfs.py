"""Generate PDFs (content streams written with pikepdf, nothing else) that display one reference page in
every way a scanner or a PDF tool places and compresses it, and TIFFs in their odd variants.

Each ``placement`` and ``encoding`` below displays, in a PDF viewer, exactly the upright reference page
(:func:`reference`) at 200 dpi: the stored image is transformed the opposite way of its placement.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image, ImageCms

from digitize.samples.pages import render_page

DPI = 200
PLACEMENTS = ("plain", "ctm-rot90", "ctm-rot180", "ctm-rot270", "ctm-skew3", "ctm-skew-minus2", "flip-h", "flip-v",
              "page-rotate90", "page-rotate270-ctm-rot90", "strips", "tiles", "image-mask", "soft-mask",
              "user-unit", "crop-box", "text-and-image")
ENCODINGS = ("flate", "flate-predictor", "flate-16bit", "flate-1bit", "flate-rgb", "dct", "dct-progressive",
             "dct-cmyk-adobe", "jpx", "ccitt-g4", "ccitt-g3", "jbig2", "jbig2-globals", "lzw", "indexed",
             "icc-rgb")
N = pikepdf.Name


def reference() -> np.ndarray:
    """The upright reference page: the top of a Vietnamese decision at 200 dpi (gray, 1654x1000)."""
    return render_page(DPI)[:1000].copy()


def _pt(px: int) -> float:
    return px * 72 / DPI


# --- encodings -------------------------------------------------------------------------------------


def _tiff_strip(im: Image.Image, compression: str) -> bytes:
    """The single strip of a TIFF Pillow writes (G4, LZW ...): the raw compressed data a PDF stream holds."""
    buf = io.BytesIO()
    im.save(buf, format="TIFF", compression=compression, strip_size=1 << 30)
    t = Image.open(io.BytesIO(buf.getvalue()))
    offset, count = t.tag_v2[273][0], t.tag_v2[279][0]
    return buf.getvalue()[offset:offset + count]


def _jbig2_segment(number: int, kind: int, page: int, data: bytes) -> bytes:
    return struct.pack(">IBBBI", number, kind, 0, page, len(data)) + data


def jbig2_embedded(bits: Image.Image, *, globals_: bool) -> tuple[bytes, bytes | None]:
    """A JBIG2 page in the PDF-embedded format: a page-information segment and an immediate lossless
    generic region coded with MMR (the region's data is exactly CCITT G4). With ``globals_``, the
    page-information segment travels in the /JBIG2Globals stream, as encoders put shared segments there."""
    w, h = bits.size
    mmr = _tiff_strip(bits, "group4")
    page_info = _jbig2_segment(0, 48, 1, struct.pack(">IIIIBH", w, h, 0, 0, 0, 0))
    region = _jbig2_segment(1, 38, 1, struct.pack(">IIIIB", w, h, 0, 0, 0) + b"\x01" + mmr)
    if globals_:
        return region, page_info
    return page_info + region, None


def _lzw(data: bytes) -> bytes:
    """LZW as PDF's LZWDecode reads it (EarlyChange 1), with a clear code first."""
    out, acc, nbits = bytearray(), 0, 0
    width = 9

    def put(code: int) -> None:
        nonlocal acc, nbits
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)

    table = {bytes([i]): i for i in range(256)}
    put(256)
    cur = b""
    for byte in data:
        nxt = cur + bytes([byte])
        if nxt in table:
            cur = nxt
            continue
        put(table[cur])
        table[nxt] = len(table) + 2  # 256 clear, 257 EOD
        if len(table) + 2 >= (1 << width) - 1 + 1 and width < 12:
            width += 1
        if len(table) + 2 >= 4094:
            put(256)
            table = {bytes([i]): i for i in range(256)}
            width = 9
        cur = bytes([byte])
    if cur:
        put(table[cur])
    put(257)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def image_stream(pdf: pikepdf.Pdf, img: np.ndarray, encoding: str = "flate") -> pikepdf.Stream:
    """An image XObject of a gray page image in the given encoding."""
    im = Image.fromarray(img)
    h, w = img.shape
    gray = dict(Type=N.XObject, Subtype=N.Image, Width=w, Height=h, ColorSpace=N.DeviceGray, BitsPerComponent=8)

    def jpeg(pil: Image.Image, **kw: object) -> bytes:
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=92, **kw)
        return buf.getvalue()

    if encoding == "flate":
        return pikepdf.Stream(pdf, zlib.compress(img.tobytes()), Filter=N.FlateDecode, **gray)
    if encoding == "flate-predictor":  # PNG "Up" predictor on every row
        prev = np.zeros(w, np.uint8)
        rows = []
        for row in img:
            rows.append(b"\x02" + (row.astype(np.int16) - prev).astype(np.uint8).tobytes())
            prev = row
        return pikepdf.Stream(pdf, zlib.compress(b"".join(rows)), Filter=N.FlateDecode,
                              DecodeParms=pikepdf.Dictionary(Predictor=15, Colors=1, BitsPerComponent=8, Columns=w),
                              **gray)
    if encoding == "flate-16bit":
        data = (img.astype(">u2") * 257).tobytes()
        return pikepdf.Stream(pdf, zlib.compress(data), Filter=N.FlateDecode, **{**gray, "BitsPerComponent": 16})
    if encoding == "flate-1bit":
        return pikepdf.Stream(pdf, zlib.compress(im.convert("1").tobytes()), Filter=N.FlateDecode,
                              **{**gray, "BitsPerComponent": 1})
    if encoding == "flate-rgb":
        rgb = np.repeat(img[:, :, None], 3, axis=2)
        return pikepdf.Stream(pdf, zlib.compress(rgb.tobytes()), Filter=N.FlateDecode,
                              **{**gray, "ColorSpace": N.DeviceRGB})
    if encoding == "dct":
        return pikepdf.Stream(pdf, jpeg(im), Filter=N.DCTDecode, **gray)
    if encoding == "dct-progressive":
        return pikepdf.Stream(pdf, jpeg(im, progressive=True), Filter=N.DCTDecode, **gray)
    if encoding == "dct-cmyk-adobe":  # Pillow writes CMYK JPEGs inverted, with the Adobe marker
        cmyk = Image.merge("CMYK", [Image.new("L", im.size, 0)] * 3 + [Image.eval(im, lambda v: 255 - v)])
        return pikepdf.Stream(pdf, jpeg(cmyk), Filter=N.DCTDecode, Decode=pikepdf.Array([1, 0] * 4),
                              **{**gray, "ColorSpace": N.DeviceCMYK})
    if encoding == "jpx":
        buf = io.BytesIO()
        im.save(buf, format="JPEG2000", quality_mode="rates", quality_layers=[10])
        attrs = {k: v for k, v in gray.items() if k not in ("ColorSpace", "BitsPerComponent")}
        return pikepdf.Stream(pdf, buf.getvalue(), Filter=N.JPXDecode, **attrs)
    # CCITT and JBIG2 code runs of 0 bits as white: the bits are 1 where there is ink
    bits = Image.fromarray((255 - img).astype(np.uint8)).convert("1")
    bilevel = {**gray, "BitsPerComponent": 1}
    if encoding == "ccitt-g4":
        return pikepdf.Stream(pdf, _tiff_strip(bits, "group4"), Filter=N.CCITTFaxDecode,
                              DecodeParms=pikepdf.Dictionary(K=-1, Columns=w, Rows=h, BlackIs1=False), **bilevel)
    if encoding == "ccitt-g3":
        return pikepdf.Stream(pdf, _tiff_strip(bits, "group3"), Filter=N.CCITTFaxDecode,
                              DecodeParms=pikepdf.Dictionary(K=0, Columns=w, Rows=h, BlackIs1=False), **bilevel)
    if encoding in ("jbig2", "jbig2-globals"):
        data, glob = jbig2_embedded(bits, globals_=encoding == "jbig2-globals")
        extra = {}
        if glob is not None:
            extra["DecodeParms"] = pikepdf.Dictionary(JBIG2Globals=pikepdf.Stream(pdf, glob))
        # JBIG2: 1 = black; the PDF shows 1 as black for JBIG2 without a /Decode array
        return pikepdf.Stream(pdf, data, Filter=N.JBIG2Decode, **bilevel, **extra)
    if encoding == "lzw":
        return pikepdf.Stream(pdf, _lzw(img.tobytes()), Filter=N.LZWDecode, **gray)
    if encoding == "indexed":
        levels = 16
        palette = bytes(v for i in range(levels) for v in [i * 255 // (levels - 1)] * 3)
        idx = (img.astype(np.uint16) * (levels - 1) + 127) // 255
        return pikepdf.Stream(pdf, zlib.compress(idx.astype(np.uint8).tobytes()), Filter=N.FlateDecode,
                              **{**gray, "ColorSpace": pikepdf.Array([N.Indexed, N.DeviceRGB, levels - 1,
                                                                     pikepdf.String(palette)])})
    if encoding == "icc-rgb":
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        rgb = np.repeat(img[:, :, None], 3, axis=2)
        cs = pikepdf.Array([N.ICCBased, pikepdf.Stream(pdf, icc, N=3)])
        return pikepdf.Stream(pdf, zlib.compress(rgb.tobytes()), Filter=N.FlateDecode, **{**gray, "ColorSpace": cs})
    raise ValueError(encoding)


# --- placements ------------------------------------------------------------------------------------


def _cm(m: tuple[float, ...]) -> bytes:
    return (" ".join(f"{v:.4f}" for v in m) + " cm ").encode()


def _mul(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2)


def _rotated_placement(stored: np.ndarray, angle: float, box_w: float, box_h: float,
                       flip: str = "") -> tuple[float, ...]:
    """The matrix that shows ``stored`` (in pt at DPI) turned ``angle`` degrees counter-clockwise and
    mirrored by ``flip``, centred in a box_w x box_h page."""
    h, w = stored.shape[:2]
    m: tuple[float, ...] = (1, 0, 0, 1, 0, 0)
    if flip == "h":
        m = _mul(m, (-1, 0, 0, 1, 1, 0))
    elif flip == "v":
        m = _mul(m, (1, 0, 0, -1, 0, 1))
    m = _mul(m, (_pt(w), 0, 0, _pt(h), -_pt(w) / 2, -_pt(h) / 2))
    t = math.radians(angle)
    m = _mul(m, (math.cos(t), math.sin(t), -math.sin(t), math.cos(t), box_w / 2, box_h / 2))
    return m


def _turn(img: np.ndarray, ccw_deg: float) -> np.ndarray:
    """The image turned counter-clockwise (any angle; the corners filled white)."""
    return np.asarray(Image.fromarray(img).rotate(ccw_deg, expand=True, fillcolor=255, resample=Image.BICUBIC))


def write_pdf(path: Path, placement: str = "plain", encoding: str = "flate", ref: np.ndarray | None = None) -> None:
    """A one-page PDF that displays the reference page upright, placed and encoded as asked."""
    ref = reference() if ref is None else ref
    h, w = ref.shape
    wp, hp = _pt(w), _pt(h)
    pdf = pikepdf.new()
    xobjects: dict[str, pikepdf.Stream] = {}
    content = b""
    box = [0, 0, wp, hp]
    extra: dict[str, object] = {}
    resources = pikepdf.Dictionary()
    if placement == "plain" or placement == "user-unit":
        xobjects["/Im0"] = image_stream(pdf, ref, encoding)
        if placement == "user-unit":  # half the size in points, twice as big a unit
            box = [0, 0, wp / 2, hp / 2]
            extra["/UserUnit"] = 2
        content = b"q " + _cm((box[2], 0, 0, box[3], 0, 0)) + b"/Im0 Do Q"
    elif placement.startswith("ctm-") or placement.startswith("flip-") or placement.startswith("page-rotate"):
        angle = {"ctm-rot90": 90, "ctm-rot180": 180, "ctm-rot270": 270, "ctm-skew3": 3, "ctm-skew-minus2": -2,
                 "page-rotate270-ctm-rot90": 90}.get(placement, 0)
        page_rotate = {"page-rotate90": 90, "page-rotate270-ctm-rot90": 270}.get(placement, 0)
        flip = placement[5:] if placement.startswith("flip-") else ""
        stored = _turn(ref, -angle)
        if flip == "h":
            stored = stored[:, ::-1]
        elif flip == "v":
            stored = stored[::-1]
        # the viewer turns the page clockwise by /Rotate: draw it turned counter-clockwise as much
        if page_rotate in (90, 270):
            box = [0, 0, hp, wp]
        m = _rotated_placement(stored, angle + page_rotate, box[2], box[3], flip)
        xobjects["/Im0"] = image_stream(pdf, np.ascontiguousarray(stored), encoding)
        content = b"q " + _cm(m) + b"/Im0 Do Q"
        if page_rotate:
            extra["/Rotate"] = page_rotate
    elif placement in ("strips", "tiles"):
        ys = [0, h // 4, h // 2, 3 * h // 4, h]
        xs = [0, w] if placement == "strips" else [0, w // 2, w]
        parts = []
        for i, (y0, y1) in enumerate(zip(ys, ys[1:], strict=False)):
            for j, (x0, x1) in enumerate(zip(xs, xs[1:], strict=False)):
                name = f"/Im{i}_{j}"
                xobjects[name] = image_stream(pdf, np.ascontiguousarray(ref[y0:y1, x0:x1]), encoding)
                parts.append(b"q " + _cm((_pt(x1 - x0), 0, 0, _pt(y1 - y0), _pt(x0), hp - _pt(y1))) + name.encode()
                             + b" Do Q ")
        content = b"".join(parts)
    elif placement == "image-mask":  # a stencil: 1-bit samples, 0 = paint with the current (black) colour
        bits = Image.fromarray(ref).convert("1")
        xobjects["/Im0"] = pikepdf.Stream(pdf, zlib.compress(bits.tobytes()), Filter=N.FlateDecode, Type=N.XObject,
                                          Subtype=N.Image, Width=w, Height=h, ImageMask=True, BitsPerComponent=1)
        content = b"q 0 g " + _cm((wp, 0, 0, hp, 0, 0)) + b"/Im0 Do Q"
    elif placement == "soft-mask":  # a black image whose soft mask is the page's ink
        alpha = (255 - ref).astype(np.uint8)
        smask = image_stream(pdf, alpha, "flate")
        ink = pikepdf.Stream(pdf, zlib.compress(bytes(w * h)), Filter=N.FlateDecode, Type=N.XObject, Subtype=N.Image,
                             Width=w, Height=h, ColorSpace=N.DeviceGray, BitsPerComponent=8, SMask=smask)
        xobjects["/Im0"] = ink
        content = b"q " + _cm((wp, 0, 0, hp, 0, 0)) + b"/Im0 Do Q"
    elif placement == "crop-box":  # the scan sits inside a larger media box with a black band outside the crop
        margin = 36.0
        xobjects["/Im0"] = image_stream(pdf, ref, encoding)
        box = [0, 0, wp + 2 * margin, hp + 2 * margin]
        content = (b"0 g 0 0 " + f"{wp + 2 * margin:.2f} {margin:.2f}".encode() + b" re f q "
                   + _cm((wp, 0, 0, hp, margin, margin)) + b"/Im0 Do Q")
        extra["/CropBox"] = pikepdf.Array([margin, margin, margin + wp, margin + hp])
    elif placement == "text-and-image":  # the scan's top part as an image, a line of real text below it
        top = ref[: h * 3 // 4]
        xobjects["/Im0"] = image_stream(pdf, np.ascontiguousarray(top), encoding)
        th = _pt(top.shape[0])
        content = (b"q " + _cm((wp, 0, 0, th, 0, hp - th)) + b"/Im0 Do Q "
                   + b"BT /F1 14 Tf 100 40 Td (Page 2 of 3) Tj ET")
        resources["/Font"] = pikepdf.Dictionary(F1=pikepdf.Dictionary(Type=N.Font, Subtype=N.Type1,
                                                                      BaseFont=N.Helvetica))
    else:
        raise ValueError(placement)
    pdf.add_blank_page(page_size=(box[2], box[3]))
    page = pdf.pages[0]
    page.obj["/MediaBox"] = pikepdf.Array(box)
    resources["/XObject"] = pikepdf.Dictionary(xobjects)
    page.obj["/Resources"] = resources
    page.obj["/Contents"] = pikepdf.Stream(pdf, content)
    for k, v in extra.items():
        page.obj[k] = v
    pdf.save(path)


# --- TIFF variants ---------------------------------------------------------------------------------


TIFF_VARIANTS = ("g4-multipage", "lzw", "jpeg", "tiled", "bigtiff", "min-is-white-8bit", "gray-16bit", "cmyk",
                 "palette", "packbits-1bit")


def _raw_tiff(path: Path, img: np.ndarray, *, photometric: int, tile: int = 0) -> None:
    """An uncompressed 8-bit gray TIFF written by hand: tiled when ``tile`` (Pillow cannot write tiles)."""
    h, w = img.shape
    entries: list[tuple[int, int, int, int | bytes]] = []  # tag, type, count, value
    blobs: list[bytes] = []
    if tile:
        tw = th = tile
        across, down = -(-w // tw), -(-h // th)
        padded = np.full((down * th, across * tw), 255 if photometric == 1 else 0, np.uint8)
        padded[:h, :w] = img
        for ty in range(down):
            for tx in range(across):
                blobs.append(padded[ty * th:(ty + 1) * th, tx * tw:(tx + 1) * tw].tobytes())
    else:
        blobs.append(img.tobytes())
    header = 8
    data_at = header
    offsets = []
    for b in blobs:
        offsets.append(data_at)
        data_at += len(b)
    n_entries = 11
    ifd_at = data_at
    arrays_at = ifd_at + 2 + 12 * n_entries + 4
    off_blob = struct.pack(f"<{len(offsets)}I", *offsets)
    cnt_blob = struct.pack(f"<{len(blobs)}I", *(len(b) for b in blobs))
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, photometric),
               (277, 3, 1, 1), (284, 3, 1, 1)]
    if tile:
        entries += [(322, 4, 1, tile), (323, 4, 1, tile), (324, 4, len(offsets), arrays_at),
                    (325, 4, len(blobs), arrays_at + len(off_blob))]
    else:
        entries += [(273, 4, 1, offsets[0]), (278, 4, 1, h), (279, 4, 1, len(blobs[0])), (296, 3, 1, 2)]
    with open(path, "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", ifd_at))
        for b in blobs:
            f.write(b)
        f.write(struct.pack("<H", len(entries)))
        for tag, typ, count, value in sorted(entries):
            if typ == 3 and count == 1:
                f.write(struct.pack("<HHIHH", tag, typ, count, value, 0))
            else:
                f.write(struct.pack("<HHII", tag, typ, count, value))
        f.write(b"\x00\x00\x00\x00" + b"\x00" * 12 * (n_entries - len(entries)))
        if tile:
            f.write(off_blob + cnt_blob)


def write_tiff(path: Path, variant: str, ref: np.ndarray | None = None) -> int:
    """A TIFF showing the reference page in the given variant; returns the page to read (1-based)."""
    ref = reference() if ref is None else ref
    im = Image.fromarray(ref)
    dpi = (DPI, DPI)
    if variant == "g4-multipage":
        blank = Image.new("1", im.size, 1)
        blank.save(path, save_all=True, append_images=[im.convert("1"), blank], compression="group4", dpi=dpi)
        return 2
    if variant == "lzw":
        im.save(path, compression="tiff_lzw", dpi=dpi)
    elif variant == "jpeg":
        im.convert("RGB").save(path, compression="jpeg", dpi=dpi)
    elif variant == "tiled":
        _raw_tiff(path, ref, photometric=1, tile=256)
    elif variant == "bigtiff":
        im.save(path, big_tiff=True, compression="tiff_deflate", dpi=dpi)
    elif variant == "min-is-white-8bit":
        _raw_tiff(path, (255 - ref).astype(np.uint8), photometric=0)
    elif variant == "gray-16bit":
        Image.fromarray(ref.astype(np.uint16) * 257).save(path, dpi=dpi)
    elif variant == "cmyk":
        Image.merge("CMYK", [Image.new("L", im.size, 0)] * 3 + [Image.eval(im, lambda v: 255 - v)]).save(path, dpi=dpi)
    elif variant == "palette":
        im.convert("P").save(path, compression="tiff_lzw", dpi=dpi)
    elif variant == "packbits-1bit":
        im.convert("1").save(path, compression="packbits", dpi=dpi)
    else:
        raise ValueError(variant)
    return 1
