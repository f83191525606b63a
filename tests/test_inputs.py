"""Bad and strange inputs (README "Bad and strange input"): each gets a clear one-line reason naming the
file, or is read as it should be. Kinds already tested in test_ingest.py are not repeated here."""

from __future__ import annotations

import io
import os
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from digitize.errors import CorruptFileError, ImageTooLargeError, InputError, PageError, UnsupportedTypeError
from digitize.models import InputKind
from digitize.page import ingest
from digitize.page.ingest import discover, inspect, load_page
from digitize.samples import pdfs

LIMITS = {"max_pixels": 200_000_000, "max_pages": 5000, "render_dpi": 300}
LOAD = {"max_pixels": 200_000_000, "render_dpi": 300}


def _plain_pdf(path: Path, **kw: object) -> None:
    pdfs.write_pdf(path, "plain", "dct", **kw)  # type: ignore[arg-type]


def _jpeg(w: int = 600, h: int = 800) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), 255).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("name,data,reason", [
    ("page.pdf", b"<!DOCTYPE html><html><body>Login</body></html>", "a web page \\(HTML\\), not a scan"),
    ("zip.pdf", b"PK\x03\x04" + b"\x00" * 40, "a ZIP archive"),
    ("heic.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
     "a HEIC/HEIF phone photo, which is not supported"),
])
def test_not_a_scan_renamed(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(UnsupportedTypeError, match=f"{name}: {reason}"):
        inspect(p, name, **LIMITS)


def test_docx_renamed_pdf(tmp_path: Path) -> None:
    p = tmp_path / "letter.pdf"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnsupportedTypeError, match="letter.pdf: a ZIP archive \\(or a Word/Excel file\\)"):
        inspect(p, "letter.pdf", **LIMITS)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (800, 600), np.uint8)).save(buf, format=fmt)
    p = tmp_path / f"cut.{fmt.lower()}"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    src = inspect(p, p.name, **LIMITS)  # the header is whole: the file is accepted ...
    with pytest.raises(PageError, match="cannot decode page 1"):
        load_page(p, src.kind, 1, **LOAD)  # ... and its page fails with a reason, alone


def test_owner_password_only_is_read(tmp_path: Path) -> None:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "owner.pdf"
    _plain_pdf(plain)
    with pikepdf.open(plain) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="", owner="boss", allow=pikepdf.Permissions(extract=False)))
    src = inspect(locked, "owner.pdf", **LIMITS)
    assert load_page(locked, src.kind, 1, **LOAD).image.shape[:2] == pdfs.reference().shape


def _with(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    src = path.with_suffix(".src.pdf")
    _plain_pdf(src)
    with pikepdf.open(src) as pdf:
        edit(pdf)
        pdf.save(path)


@pytest.mark.parametrize("feature", ["javascript", "embedded-file", "form"])
def test_active_pdf_content_is_ignored_and_the_page_read(tmp_path: Path, feature: str) -> None:
    def edit(pdf: pikepdf.Pdf) -> None:
        if feature == "javascript":
            pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        elif feature == "embedded-file":
            pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ" + b"\x00" * 100)
        else:
            field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Tx, T=pikepdf.String("name"),
                                                         Rect=[0, 0, 100, 20], Type=pikepdf.Name.Annot,
                                                         Subtype=pikepdf.Name.Widget))
            pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([field]))
            pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    p = tmp_path / f"{feature}.pdf"
    _with(p, edit)
    src = inspect(p, p.name, **LIMITS)
    assert src.page_count == 1
    assert load_page(p, src.kind, 1, **LOAD).image.shape[:2] == pdfs.reference().shape


def test_page_tree_loop(tmp_path: Path) -> None:
    def edit(pdf: pikepdf.Pdf) -> None:
        root_pages = pdf.Root.Pages
        root_pages.Kids.append(root_pages)  # the page tree contains itself
        root_pages.Count = 2
    p = tmp_path / "loop.pdf"
    _with(p, edit)
    try:
        src = inspect(p, "loop.pdf", **LIMITS)
    except CorruptFileError as e:
        assert str(e).startswith("loop.pdf: damaged or truncated PDF")
    else:  # qpdf repairs the tree: the one real page is read
        assert src.page_count == 1


def test_100000_page_pdf_is_refused_at_the_limit(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    pdf.Root.Pages.Kids = pikepdf.Array([page] * 100_000)
    pdf.Root.Pages.Count = 100_000
    p = tmp_path / "huge.pdf"
    pdf.save(p)
    with pytest.raises(ImageTooLargeError, match="huge.pdf: 100000 pages is more than the limit of 5000"):
        inspect(p, "huge.pdf", **LIMITS)


def test_tiff_bomb(tmp_path: Path) -> None:
    side = 100_000
    ifd = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 1),
           (273, 4, 1, 8), (278, 4, 1, side), (279, 4, 1, 16)]
    data = b"II*\x00" + struct.pack("<I", 24) + b"\x00" * 16 + struct.pack("<H", len(ifd))
    data += b"".join(struct.pack("<HHII", t, ty, c, v) for t, ty, c, v in ifd) + b"\x00" * 4
    p = tmp_path / "bomb.tif"
    p.write_bytes(data)
    with pytest.raises(ImageTooLargeError, match="bomb.tif: page 1 is 100000x100000 px"):
        inspect(p, "bomb.tif", **LIMITS)


def test_jpeg_bomb(tmp_path: Path) -> None:
    data = bytearray(_jpeg(64, 64))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width in the frame header
    p = tmp_path / "bomb.jpg"
    p.write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError, match="bomb.jpg: page 1 is 65000x65000 px"):
        inspect(p, "bomb.jpg", **LIMITS)


@pytest.mark.parametrize("placement", ["plain", "ctm-rot90"])
def test_pdf_stream_bomb(tmp_path: Path, placement: str) -> None:
    """An image stream of a few KB that inflates to 3.6 GB: refused before it is decoded, fast path or not."""
    side = 60_000
    comp = zlib.compressobj(9)
    data = comp.compress(b"\xff" * 1_000_000) + comp.flush()  # the stream is cut short; its size is what counts
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    im = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=side, Height=side,
                        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode)
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
    cm = b"595 0 0 842 0 0 cm" if placement == "plain" else b"0 842 -595 0 595 0 cm"
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q " + cm + b" /Im0 Do Q")
    p = tmp_path / "bomb.pdf"
    pdf.save(p)
    src = inspect(p, "bomb.pdf", **LIMITS)
    with pytest.raises(ImageTooLargeError, match="page 1 image is 60000x60000 px"):
        load_page(p, src.kind, 1, **LOAD)


@pytest.mark.parametrize("size", [(1, 100_000), (100_000, 1), (20, 20)])
def test_sliver_image_is_not_a_page(tmp_path: Path, size: tuple[int, int]) -> None:
    p = tmp_path / "sliver.png"
    Image.new("L", size, 255).save(p)
    with pytest.raises(CorruptFileError, match=f"sliver.png: page 1 is {size[0]}x{size[1]} px: too small"):
        inspect(p, "sliver.png", **LIMITS)


def test_zero_by_zero_image(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = struct.pack(">II", 0, 0)  # IHDR width, height (the CRC no longer matches either)
    p = tmp_path / "zero.png"
    p.write_bytes(bytes(png))
    with pytest.raises(CorruptFileError, match="zero.png: "):
        inspect(p, "zero.png", **LIMITS)


def test_exif_rotated_phone_photo_is_turned_upright(tmp_path: Path) -> None:
    ref = pdfs.reference()
    stored = np.ascontiguousarray(np.rot90(ref, 1))  # the phone stored it turned; EXIF says how to show it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    p = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(p, exif=exif.tobytes(), quality=90)
    page = load_page(p, InputKind.JPEG, 1, **LOAD)
    assert page.image.shape[:2] == ref.shape
    assert np.corrcoef(page.image.astype(float).ravel(), ref.astype(float).ravel())[0, 1] > 0.9


def test_file_changing_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "growing.pdf"
    _plain_pdf(p)
    real = ingest.sha256_of

    def hash_while_a_copy_goes_on(path: Path) -> tuple[str, int]:
        got = real(path)
        with open(path, "ab") as f:
            f.write(b"% more bytes arriving\n")
        return got

    monkeypatch.setattr(ingest, "sha256_of", hash_while_a_copy_goes_on)
    with pytest.raises(InputError, match="growing.pdf: the file changed while it was read"):
        inspect(p, "growing.pdf", **LIMITS)


def test_symlink_loops(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    _plain_pdf(tmp_path / "box" / "a.pdf")
    os.symlink(tmp_path, tmp_path / "box" / "up")  # a folder loop: never followed
    os.symlink("self.pdf", tmp_path / "box" / "self.pdf")  # a link to itself
    found = [c.source for c in discover([tmp_path])]
    assert found == ["box/a.pdf", "box/self.pdf"]
    with pytest.raises(InputError, match="box/self.pdf: cannot read the file \\(Too many levels of symbolic links\\)"):
        inspect(tmp_path / "box" / "self.pdf", "box/self.pdf", **LIMITS)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "secret.pdf"
    _plain_pdf(p)
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail as it does for a clerk's account
        def denied(path: Path) -> tuple[str, int]:
            raise PermissionError(13, "Permission denied", str(path))
        monkeypatch.setattr(ingest, "sha256_of", denied)
    with pytest.raises(InputError, match="secret.pdf: cannot read the file \\(Permission denied\\)"):
        inspect(p, "secret.pdf", **LIMITS)


def test_nfd_and_very_long_names(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Quyết định số 12.pdf")
    long = "Hồ sơ " + "x" * (250 - len("Hồ sơ ".encode()) - 4) + ".pdf"
    for name in (nfd, long):
        p = tmp_path / name
        _plain_pdf(p)
        assert [c.source for c in discover([p])] == [name]
        assert inspect(p, name, **LIMITS).page_count == 1
