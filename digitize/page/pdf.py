"""Searchable PDF output: the page image with tesseract's invisible text layer over it.

Each page is built once (``page_pdf``) and stored; a document's PDF is the concatenation of its
pages (``merge_pages``). Images are encoded by us (JPEG for gray/colour, CCITT G4 for bilevel)
and embedded by img2pdf without re-encoding; the text layer is grafted on with pikepdf, the same
approach as OCRmyPDF's sandwich renderer.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence

import numpy as np

from digitize.errors import PageError

JPEG_QUALITY_GRAY = 65
JPEG_QUALITY_COLOR = 70


def encode_image(image: np.ndarray, *, is_color: bool) -> tuple[bytes, str]:
    """Encode the stored page image: colour or gray JPEG, or CCITT G4 TIFF when it is bilevel."""
    import cv2

    if image.ndim == 3 and not is_color:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 2 and _is_bilevel(image):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).convert("1").save(buf, format="TIFF", compression="group4")
        return buf.getvalue(), "image/tiff"
    quality = JPEG_QUALITY_COLOR if image.ndim == 3 else JPEG_QUALITY_GRAY
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    if not ok:
        raise PageError("cannot encode the page image")
    return data.tobytes(), "image/jpeg"


def _is_bilevel(gray: np.ndarray) -> bool:
    sample = gray[::7, ::7]
    return bool(np.count_nonzero((sample > 0) & (sample < 255)) == 0)


TEXT_LAYER = "/TextLayer"


def page_pdf(image: np.ndarray, *, is_color: bool, dpi: float, text_pdf: bytes | None) -> bytes:
    """One PDF page: ``image`` at ``dpi`` with the text-only PDF page from tesseract laid over it."""
    import img2pdf
    import pikepdf

    data, _mime = encode_image(image, is_color=is_color)
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    img_pdf = img2pdf.convert(data, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
    if not text_pdf:
        return img_pdf
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(img_pdf)) as base, pikepdf.open(io.BytesIO(text_pdf)) as text:
        page = base.pages[0]
        name = page.add_overlay(text.pages[0], pikepdf.Rectangle(*[float(v) for v in page.mediabox]))
        # pikepdf names the overlay at random: a fixed name keeps the same page giving the same bytes
        xobjects = page.Resources.XObject
        xobjects[TEXT_LAYER] = xobjects[name]
        del xobjects[name]
        page.Contents.write(page.Contents.read_bytes().replace(str(name).encode(), str(TEXT_LAYER).encode()))
        base.save(out, compress_streams=True)
    return out.getvalue()


def merge_pages(pages: Sequence[bytes], *, title: str | None = None, lang: str = "vi-VN") -> bytes:
    """Concatenate single-page PDFs into one document PDF, declared PDF/A-2b.

    What PDF/A-2b asks of these files is put in place here: XMP metadata with the PDF/A
    identification, an sRGB output intent with its ICC profile embedded, the document language, a
    trailer ID, no encryption. The pages bring only JPEG / CCITT images and tesseract's embedded
    GlyphLessFont with its ToUnicode map. The output is deterministic: the same pages give the same bytes.
    """
    import pikepdf

    out = io.BytesIO()
    with pikepdf.new() as doc:
        sources = [pikepdf.open(io.BytesIO(p)) for p in pages]
        try:
            for src in sources:
                doc.pages.extend(src.pages)
            _make_pdfa(doc, title=title, lang=lang)
            doc.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                     deterministic_id=True)
        finally:
            for src in sources:
                src.close()
    return out.getvalue()


def _make_pdfa(doc, *, title: str | None, lang: str) -> None:  # type: ignore[no-untyped-def]
    import pikepdf

    icc = doc.make_stream(srgb_icc())
    icc["/N"] = 3
    doc.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1, OutputConditionIdentifier="sRGB IEC61966-2.1",
        Info="sRGB IEC61966-2.1", DestOutputProfile=icc)])
    doc.Root.Lang = pikepdf.String(lang)
    with doc.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["pdf:Producer"] = "digitize"
        meta["xmp:CreatorTool"] = "digitize"
        if title:
            meta["dc:title"] = title


_SRGB: bytes | None = None


def srgb_icc() -> bytes:
    """The sRGB ICC profile (built by Little CMS through Pillow; nothing to ship)."""
    global _SRGB
    if _SRGB is None:
        from PIL import ImageCms

        icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        # Little CMS stamps the creation time into the header (and an MD5 profile id over it): a fixed
        # date and no id (allowed: all zeros) keep every document PDF reproducible, byte for byte
        icc[24:36] = struct.pack(">6H", 2020, 1, 1, 0, 0, 0)
        icc[84:100] = bytes(16)
        _SRGB = bytes(icc)
    return _SRGB
