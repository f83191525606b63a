"""Ingest: type by content, page counting, and every kind of bad input gets a clear error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageOps

from digitize.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedPdfError,
    ImageTooLargeError,
    UnsupportedTypeError,
)
from digitize.models import InputKind
from digitize.page.ingest import detect_kind, discover, inspect, load_page
from tests.gen.bombs import bomb_png

LIMITS = {"max_pixels": 200_000_000, "max_pages": 5000, "render_dpi": 300}


def _png_bytes(w: int = 200, h: int = 100) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), 255).save(buf, format="PNG", dpi=(300, 300))
    return buf.getvalue()


def _pdf_of_images(n: int) -> bytes:
    import img2pdf

    imgs = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("L", (850, 1100), 255 - 10 * i).save(buf, format="JPEG")
        imgs.append(buf.getvalue())
    return img2pdf.convert(imgs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((100, 100)))


@pytest.mark.parametrize("head,kind", [
    (b"%PDF-1.7\n", InputKind.PDF),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", InputKind.JPEG),
    (b"\x89PNG\r\n\x1a\n\x00", InputKind.PNG),
    (b"II*\x00\x08\x00", InputKind.TIFF),
    (b"MM\x00*\x00\x00", InputKind.TIFF),
])
def test_detect_kind_by_magic(head: bytes, kind: InputKind) -> None:
    assert detect_kind(head) is kind


def test_detect_kind_rejects_text() -> None:
    with pytest.raises(UnsupportedTypeError):
        detect_kind(b"hello, this is not an image")


def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    p = tmp_path / "scan.pdf"
    p.write_bytes(_png_bytes())
    src = inspect(p, p.name, **LIMITS)
    assert src.kind is InputKind.PNG and src.page_count == 1


def test_pdf_and_multipage_tiff_page_count(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(_pdf_of_images(3))
    assert inspect(pdf, "a.pdf", **LIMITS).page_count == 3
    tif = tmp_path / "b.tif"
    frames = [Image.new("1", (300, 400), 1) for _ in range(4)]
    frames[0].save(tif, save_all=True, append_images=frames[1:], compression="group4", dpi=(200, 200))
    src = inspect(tif, "b.tif", **LIMITS)
    assert src.kind is InputKind.TIFF and src.page_count == 4
    page = load_page(tif, src.kind, 3, render_dpi=300, max_pixels=10**8)
    assert page.image.shape == (400, 300) and page.image.dtype == np.uint8 and page.dpi == 200


def test_scanned_pdf_page_is_taken_without_rendering(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(_pdf_of_images(2))
    page = load_page(pdf, InputKind.PDF, 2, render_dpi=300, max_pixels=10**8)
    assert page.image.shape[:2] == (1100, 850)  # native image size, not 300 dpi rendering
    assert page.dpi == pytest.approx(100, abs=0.5)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.pdf"
    p.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty.pdf: empty file"):
        inspect(p, "empty.pdf", **LIMITS)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_text("not really a photo\n")
    with pytest.raises(UnsupportedTypeError, match="photo.jpg"):
        inspect(p, "photo.jpg", **LIMITS)


def test_truncated_pdf(tmp_path: Path) -> None:
    data = _pdf_of_images(2)
    p = tmp_path / "cut.pdf"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="cut.pdf: damaged or truncated PDF"):
        inspect(p, "cut.pdf", **LIMITS)


def test_encrypted_pdf(tmp_path: Path) -> None:
    src = tmp_path / "plain.pdf"
    src.write_bytes(_pdf_of_images(1))
    p = tmp_path / "locked.pdf"
    with pikepdf.open(src) as pdf:
        pdf.save(p, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    with pytest.raises(EncryptedPdfError, match="locked.pdf: the PDF is encrypted") as e:
        inspect(p, "locked.pdf", **LIMITS)
    assert "qpdf --decrypt" in str(e.value)


def test_decompression_bomb(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    bomb_png(p)
    with pytest.raises(ImageTooLargeError, match="bomb.png: page 1 is 40000x40000 px"):
        inspect(p, "bomb.png", **LIMITS)


def test_unsupported_type(tmp_path: Path) -> None:
    p = tmp_path / "scan.gif"
    Image.new("L", (10, 10)).save(p, format="GIF")
    with pytest.raises(UnsupportedTypeError, match="scan.gif"):
        inspect(p, "scan.gif", **LIMITS)


def test_discover_is_recursive_sorted_and_relative(tmp_path: Path) -> None:
    (tmp_path / "box1" / "sub").mkdir(parents=True)
    for rel in ("b.pdf", "box1/a.pdf", "box1/sub/c.tif", ".hidden.pdf"):
        (tmp_path / rel).write_bytes(b"x")
    found = [c.source for c in discover([tmp_path])]
    assert found == ["b.pdf", "box1/a.pdf", "box1/sub/c.tif"]
    assert [c.source for c in discover([tmp_path / "box1" / "a.pdf"])] == ["a.pdf"]


def test_shipped_samples_are_all_readable_scans():
    """The demo (`scripts/bootstrap.sh demo`) runs on samples/: every file there must be a scan it can read."""
    from digitize.page.ingest import inspect

    root = Path(__file__).resolve().parent.parent / "samples"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) >= 3
    for f in files:
        src = inspect(f, f.name, max_pixels=200_000_000, max_pages=1000, render_dpi=300)
        assert src.page_count >= 1, f


def _bilevel_page_pdf(path: Path, *, decode_inverted: bool) -> None:
    """A one-page PDF whose only content is a 1-bit scan: a black box at (100..300, 100..200) on white."""
    im = Image.new("L", (800, 1000), 255)
    im.paste(0, (100, 100, 300, 200))
    if decode_inverted:  # samples stored as 1 = black, with /Decode [1 0] to say so
        data = ImageOps.invert(im).convert("1").tobytes()
        pdf = pikepdf.new()
        xobj = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=800,
                              Height=1000, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1,
                              Decode=pikepdf.Array([1, 0]))
        pdf.add_blank_page(page_size=(288, 360))  # 800 px over 4 in = 200 dpi
        pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj))
        pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q 288 0 0 360 0 0 cm /Im0 Do Q")
        pdf.save(path)
    else:  # a CCITT G4 TIFF put in a PDF as it is (BlackIs1 in its DecodeParms)
        import img2pdf

        buf = io.BytesIO()
        im.convert("1").save(buf, format="TIFF", compression="group4", dpi=(200, 200))
        path.write_bytes(img2pdf.convert(buf.getvalue()))


@pytest.mark.parametrize("decode_inverted", [False, True])
def test_bilevel_pdf_page_reads_black_on_white(tmp_path: Path, decode_inverted: bool) -> None:
    pdf = tmp_path / "g4.pdf"
    _bilevel_page_pdf(pdf, decode_inverted=decode_inverted)
    page = load_page(pdf, InputKind.PDF, 1, render_dpi=300, max_pixels=10**8)
    assert page.image.shape[:2] == (1000, 800) and page.dpi == pytest.approx(200, abs=0.5)
    assert page.image[150, 200] == 0 and page.image[500, 500] == 255
